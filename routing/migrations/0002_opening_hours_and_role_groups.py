"""Opening hours a dealership starts with, and the managers' routing permissions."""

from datetime import time

from django.db import migrations

from dealercrm.roles import role_groups_sync

# Monday to Friday 8:00-20:00, Saturday 9:00-18:00, Sunday closed; managers change them.
HOURS = {day: (time(8), time(20)) for day in range(5)} | {5: (time(9), time(18))}


def create_hours(apps, schema_editor):
    OpeningHours = apps.get_model("routing", "OpeningHours")
    if not OpeningHours.objects.exists():
        OpeningHours.objects.bulk_create(
            OpeningHours(weekday=day, opens=opens, closes=closes)
            for day, (opens, closes) in HOURS.items()
        )


def sync_role_groups(apps, schema_editor):
    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0001_initial"),
        ("leads", "0005_routing"),
        ("dealercrm", "0003_staffprofile_response_seconds"),
    ]

    operations = [
        migrations.RunPython(create_hours, migrations.RunPython.noop),
        migrations.RunPython(sync_role_groups, migrations.RunPython.noop),
    ]
