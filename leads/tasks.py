"""The sweeps of the lead life cycle, which django-q2 runs on the schedules declared in
`dealercrm.schedules` (through `sweep_run`, which keeps their history). Each takes `now` and
`since` (see there), works in batches that each commit, claims its rows atomically through the
writers it calls, and is idempotent: a retry, a replay at the same `now` or a second cluster
changes nothing twice. Each returns its counts, with `examined`, `changed` and `errors`.
"""

import logging
from collections import defaultdict
from datetime import timedelta
from statistics import median

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from dealercrm.schedules import one_by_one
from dealercrm.services import staff_response_times_set
from leads.archive import lead_archive, leads_due_for_archive
from leads.followup import followup_reminders_send
from leads.models import OPEN_STATUSES, Lead, LeadStatus, LifecycleSettings
from leads.recycling import lifecycle_date_recycle, lifecycle_dates_due
from leads.resurfacing import (
    LATENESS,
    NEVER_REACTIVATED,
    lead_reactivate,
    leads_quiet_claim,
    leads_seen_while_quiet_claim,
    quiet_leads_resurface,
)
from leads.routing import (
    lead_first_response_missed,
    lead_first_response_warn,
    leads_due_for_warning,
    leads_missing_first_response,
)

logger = logging.getLogger(__name__)

BATCH = 200
# The stale sweep's claims are set-wise: larger batches cost what a bare UPDATE costs.
CLAIM_BATCH = 2000
# Fastest-responder routing weighs people by their first responses over this window.
RESPONSE_WINDOW = timedelta(days=30)


def first_response_sweep(now, since=None):
    """Every minute: warn owners whose first response falls due soon, and rotate (or pool) the
    leads whose first response was missed. Each lead is handled in its own transaction under
    its row lock, and re-checked there, so that two clusters never act twice. Returns counts."""
    counts = defaultdict(int)
    while True:
        due = leads_due_for_warning(now, BATCH)
        counts["examined"] += len(due)
        counts["warned"] += sum(lead_first_response_warn(pk, now) for pk in due)
        if len(due) < BATCH:
            break
    while True:
        missed = leads_missing_first_response(now, BATCH)
        counts["examined"] += len(missed)
        handled = 0
        for pk in missed:
            outcome = lead_first_response_missed(pk, now)
            if outcome:
                counts[outcome] += 1
                handled += 1
        # A lead handled leaves the set (its new deadline is ahead, or it has none); a batch
        # where nothing was left to do belongs to a parallel sweep.
        if len(missed) < BATCH or not handled:
            break
    actions = ("warned", "rotated", "to_pool", "alerted")
    return {
        "examined": counts["examined"],
        "changed": sum(counts[key] for key in actions),
        **{key: counts[key] for key in actions},
    }


def response_times_refresh(now, since=None):
    """Every hour: each person's median first-response time over the leads created in the
    trailing 30 days that they answered, for fastest-responder routing. Returns counts."""
    rows = (
        Lead.objects.filter(
            created_at__gte=now - RESPONSE_WINDOW,
            created_at__lt=now,
            owner__isnull=False,
            assigned_at__isnull=False,
            first_contacted_at__isnull=False,
        )
        .values_list("owner_id", "assigned_at", "first_contacted_at")
        .iterator(chunk_size=5000)
    )
    seconds = defaultdict(list)
    for owner_id, assigned_at, contacted_at in rows:
        # A contact before the assignment was somebody else's (the lead was reassigned).
        if contacted_at >= assigned_at:
            seconds[owner_id].append((contacted_at - assigned_at).total_seconds())
    medians = {owner_id: median(values) for owner_id, values in seconds.items()}
    changed = staff_response_times_set(medians)
    return {"examined": sum(map(len, seconds.values())), "changed": changed, "people": len(medians)}


def stale_sweep(now, since=None):
    """Flag open leads quiet (no CRM activity) for each tier's days — 7, 14 and 21 by default
    (LifecycleSettings) — and resurface to their salesperson the quiet leads whose customer was
    on the website since the last CRM activity: those are not lost.

    After a first run, each tier looks only at the leads whose quiet time crossed it since the
    last run (a bounded window on the (status, last_activity_at) index), and the second pass
    only at quiet leads whose customer was seen since then (a partial index), so that the cost
    follows what changed (PLATFORM.md). Highest tier first: a lead that crossed several since
    the last run gets the highest. Each batch is claimed and handled in one transaction.
    """
    tiers = sorted(LifecycleSettings.current().stale_tiers, reverse=True)
    counts = defaultdict(int)
    for tier in tiers:
        quiet = timedelta(days=tier)
        while True:
            with transaction.atomic():
                claimed = leads_quiet_claim(
                    tier,
                    quiet_from=since - quiet if since else None,
                    quiet_until=now - quiet,
                    now=now,
                    limit=CLAIM_BATCH,
                )
                resurfaced = [lead_id for lead_id, now_resurfaced in claimed if now_resurfaced]
                quiet_leads_resurface(resurfaced, now=now)
            counts["examined"] += len(claimed)
            counts[f"quiet_{tier}"] += len(claimed)
            counts["resurfaced"] += len(resurfaced)
            if not claimed:
                break
    while True:
        with transaction.atomic():
            seen = leads_seen_while_quiet_claim(
                seen_from=since - LATENESS if since else None, now=now, limit=CLAIM_BATCH
            )
            quiet_leads_resurface(seen, now=now)
        counts["examined"] += len(seen)
        counts["seen_again"] += len(seen)
        if not seen:
            break
    flagged = sum(counts[f"quiet_{tier}"] for tier in tiers)
    return {
        "examined": counts["examined"],
        "changed": flagged + counts["seen_again"],
        **{f"quiet_{tier}": counts[f"quiet_{tier}"] for tier in sorted(tiers)},
        "resurfaced": counts["resurfaced"] + counts["seen_again"],
        "errors": [],
    }


def reactivation_sweep(now, since=None):
    """Return to work (or to a manager's review) the lost leads whose customer shows buying
    behaviour on the website: closed leads whose customer was seen since the last run (a
    partial index on closed leads by last-seen time), each decided under its row lock by
    `lead_reactivate`. Only a customer's latest lead, and only when they have no open one."""
    rules = LifecycleSettings.current()
    seen_from = (since or now - timedelta(days=rules.reactivation_window_days)) - LATENESS
    candidates = (
        Lead.objects.filter(
            status__in=[LeadStatus.LOST, LeadStatus.DISQUALIFIED],
            last_seen_at__gte=seen_from,
            last_seen_at__lte=now,
        )
        .exclude(status=LeadStatus.DISQUALIFIED, close_reason__code__in=NEVER_REACTIVATED)
        .exclude(
            Exists(
                Lead.objects.filter(customer_id=OuterRef("customer_id"))
                .exclude(pk=OuterRef("pk"))
                .filter(
                    Q(status__in=OPEN_STATUSES)
                    | Q(created_at__gt=OuterRef("created_at"))
                    | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
                )
            )
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    counts = defaultdict(int)
    errors = []
    one_by_one(
        candidates.iterator(chunk_size=BATCH),
        lambda lead_id: lead_reactivate(lead_id, now=now, rules=rules),
        "lead",
        counts,
        errors,
    )
    return {
        "examined": counts["examined"],
        "changed": counts["reopened"] + counts["review"],
        "reopened": counts["reopened"],
        "review": counts["review"],
        "errors": errors,
    }


def recycle_sweep(now, since=None):
    """Turn the life-cycle dates whose time has come into leads for the customers' previous
    salespeople (or tasks on their open leads), once per date."""
    rules = LifecycleSettings.current()
    counts = defaultdict(int)
    errors = []
    failed = set()
    while True:
        due = lifecycle_dates_due(now, rules, BATCH + len(failed))
        due = [pk for pk in due if pk not in failed]
        failed |= one_by_one(
            due,
            lambda date_id: lifecycle_date_recycle(date_id, now=now),
            "life-cycle date",
            counts,
            errors,
        )
        if not due:
            break
    return {
        "examined": counts["examined"],
        "changed": counts["created"] + counts["added"],
        "created": counts["created"],
        "added": counts["added"],
        "errors": errors,
    }


def archive_sweep(now, since=None):
    """Weekly: archive the newcomers with a long purchase horizon that have been quiet for the
    dealership's number of days (closed as lost, reason "archived": recoverable)."""
    quiet_days = LifecycleSettings.current().archive_after_days
    counts = defaultdict(int)
    errors = []
    after = 0
    while True:
        due = leads_due_for_archive(
            now=now, since=since, quiet_days=quiet_days, limit=BATCH, after_id=after
        )
        one_by_one(
            due,
            lambda lead_id: lead_archive(lead_id, now=now, quiet_days=quiet_days) and "archived",
            "lead",
            counts,
            errors,
        )
        if len(due) < BATCH:
            break
        after = due[-1]
    return {
        "examined": counts["examined"],
        "changed": counts["archived"],
        "archived": counts["archived"],
        "errors": errors,
    }


def task_reminders_sweep(now, since=None):
    """Hourly; acts once a day per person, from the dealership's reminder hour on."""
    hour = LifecycleSettings.current().reminder_hour
    examined, reminded = followup_reminders_send(now=now, hour=hour)
    return {"examined": examined, "changed": reminded, "reminded": reminded, "errors": []}
