"""The weekly archive: a salesperson's base should hold customers buying soon (the field's goal is
at least 65% buying within 1–3 months, 5–7% long projects; DESIGN.md). Newcomers who said they
buy later than in 3 months and have had no CRM activity for a while are archived: closed as lost
with the reason "archived", which keeps them recoverable — a person returns one to work with a
click, and the reactivation sweep brings one back by itself when the customer shops again.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from leads.models import Lead, LeadStatus, Reason
from leads.services import lead_change_status

ARCHIVE_JOB = "sweep:archive"
ARCHIVED_REASON = "archived"
# Newcomers: leads nobody has qualified yet.
ARCHIVABLE_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED)
# Not a target customer for now: buying later than in 3 months.
LONG_HORIZONS = (Lead.PurchaseHorizon.WITHIN_6_MONTHS, Lead.PurchaseHorizon.LATER)


def leads_due_for_archive(*, now, since, quiet_days, limit, after_id=0):
    """Ids of newcomers with a long purchase horizon whose last CRM activity is `quiet_days` or
    more before `now` (and, after a first run, less than that before `since`: the ones that
    became due since the last run), through the (status, last_activity_at)
    index, in id order after `after_id`."""
    quiet = timedelta(days=quiet_days)
    due = Lead.objects.filter(
        status__in=ARCHIVABLE_STATUSES,
        purchase_horizon__in=LONG_HORIZONS,
        last_activity_at__lte=now - quiet,
        pk__gt=after_id,
    )
    if since is not None:
        due = due.filter(last_activity_at__gt=since - quiet)
    return list(due.order_by("pk").values_list("pk", flat=True)[:limit])


@transaction.atomic
def lead_archive(lead_id, *, now, quiet_days):
    """Archive one lead if it is still due (checked again under its row lock: someone may have
    worked it since it was selected). Returns whether it did."""
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    quiet_since = now - timedelta(days=quiet_days)
    if (
        lead.status not in ARCHIVABLE_STATUSES
        or lead.purchase_horizon not in LONG_HORIZONS
        or lead.last_activity_at > quiet_since
    ):
        return False
    last = timezone.localtime(lead.last_activity_at)
    lead_change_status(
        lead=lead,
        to_status=LeadStatus.LOST,
        by=ARCHIVE_JOB,
        reason=Reason.objects.get(kind=Reason.Kind.LOST, code=ARCHIVED_REASON),
        note=f"Buying {lead.get_purchase_horizon_display().lower()}; no CRM activity since "
        f"{last:%b %-d}. Return it to work when the customer is ready.",
        at=now,
    )
    return True
