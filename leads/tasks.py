"""django-q2 task functions of the lead life cycle. Each takes plain values, loads fresh rows,
calls services and is idempotent: a retry or a second cluster changes nothing twice.

`now` is an ISO 8601 text (or None for the current time) so that operators and tests can run a
sweep as of a given moment (`manage.py run_sweep NAME --now ...`).
"""

import logging
from collections import defaultdict
from datetime import timedelta
from statistics import median

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dealercrm.services import staff_response_times_set
from leads.models import Lead
from leads.routing import (
    lead_first_response_missed,
    lead_first_response_warn,
    leads_due_for_warning,
    leads_missing_first_response,
)

logger = logging.getLogger(__name__)

BATCH = 200
# Fastest-responder routing weighs people by their first responses over this window.
RESPONSE_WINDOW = timedelta(days=30)


def _moment(now):
    if now is None:
        return timezone.now()
    if isinstance(now, str):
        parsed = parse_datetime(now)
        if parsed is None:
            raise ValueError(f"--now {now!r} is not an ISO 8601 date and time.")
        now = parsed
    return now if timezone.is_aware(now) else timezone.make_aware(now)


def first_response_sweep(now=None):
    """Every minute: warn owners whose first response falls due soon, and rotate (or pool) the
    leads whose first response was missed. Each lead is handled in its own transaction under
    its row lock, and re-checked there, so that two clusters never act twice. Returns counts."""
    now = _moment(now)
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
    result = {key: counts[key] for key in ("examined", "warned", "rotated", "to_pool", "alerted")}
    if any(result[key] for key in ("warned", "rotated", "to_pool", "alerted")):
        logger.info("first-response sweep at %s: %s", now.isoformat(), result)
    return result


def response_times_refresh(now=None):
    """Every hour: each person's median first-response time over the leads created in the
    trailing 30 days that they answered, for fastest-responder routing. Returns counts."""
    now = _moment(now)
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
    return {"examined": sum(map(len, seconds.values())), "people": len(medians), "changed": changed}
