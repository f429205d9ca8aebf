"""The scoring weights a dealership starts with, and the role groups' new intake permissions."""

from django.db import migrations

from dealercrm.roles import role_groups_sync

# Frozen copy of leads.scoring.FACTORS defaults at the time of this migration.
WEIGHTS = {
    "base": 10,
    "website_session": 4,
    "form_viewed": 3,
    "vehicle_viewed": 2,
    "seen_recently": 10,
    "valid_phone": 15,
    "valid_email": 10,
    "specific_vehicle": 5,
    "trade_in": 5,
    "horizon_within_week": 20,
    "horizon_within_month": 15,
    "horizon_within_3_months": 10,
    "horizon_within_6_months": 3,
    "horizon_later": -10,
}


def create_weights(apps, schema_editor):
    ScoreWeight = apps.get_model("leads", "ScoreWeight")
    for code, points in WEIGHTS.items():
        ScoreWeight.objects.get_or_create(code=code, defaults={"points": points})


def sync_role_groups(apps, schema_editor):
    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("dealercrm", "0002_notifications_and_lead_provider_role"),
        ("leads", "0003_intake"),
    ]

    operations = [
        migrations.RunPython(create_weights, migrations.RunPython.noop),
        migrations.RunPython(sync_role_groups, migrations.RunPython.noop),
    ]
