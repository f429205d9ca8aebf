"""Role groups with their permissions, and the reason catalog a dealership starts with."""

from django.db import migrations

from dealercrm.roles import role_groups_sync

# (scope, kind, code, label, requires_note); managers edit the catalog afterwards.
REASONS = [
    ("sales", "lost", "bought_elsewhere", "Bought from another dealer", False),
    ("sales", "lost", "price", "Price or payment too high", False),
    ("sales", "lost", "no_response", "No response after follow-up", False),
    ("sales", "lost", "financing_declined", "Financing declined", False),
    ("sales", "lost", "vehicle_unavailable", "Vehicle not available", False),
    ("sales", "lost", "postponed", "Postponed the purchase", False),
    ("sales", "lost", "other", "Other", True),
    ("sales", "disqualified", "invalid_contact", "Invalid phone or e-mail", False),
    ("sales", "disqualified", "spam", "Spam or test", False),
    ("sales", "disqualified", "non_target", "Non-target: not shopping for a car here", False),
    ("sales", "disqualified", "duplicate", "Duplicate of another lead", False),
    ("sales", "disqualified", "out_of_area", "Outside the dealer's market area", False),
    ("sales", "disqualified", "other", "Other", True),
    ("service", "service_loss", "no_show", "No-show", False),
    ("service", "service_loss", "missing_parts", "Missing parts", False),
    ("service", "service_loss", "no_capacity", "No workshop capacity", False),
    ("service", "service_loss", "price_too_high", "Price too high", False),
    ("service", "service_loss", "competitor_offer", "Competitor offer", False),
    ("service", "service_loss", "no_contact", "Could not reach the customer", False),
    ("service", "service_loss", "customer_postponed", "Customer postponed", False),
    ("service", "service_loss", "other", "Other", True),
]


def create_reasons(apps, schema_editor):
    Reason = apps.get_model("leads", "Reason")
    for ordering, (scope, kind, code, label, requires_note) in enumerate(REASONS, start=1):
        Reason.objects.update_or_create(
            kind=kind,
            code=code,
            defaults={
                "scope": scope,
                "label": label,
                "requires_note": requires_note,
                "ordering": ordering * 10,
            },
        )


def sync_role_groups(apps, schema_editor):
    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("dealercrm", "0001_initial"),
        ("leads", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_reasons, migrations.RunPython.noop),
        migrations.RunPython(sync_role_groups, migrations.RunPython.noop),
    ]
