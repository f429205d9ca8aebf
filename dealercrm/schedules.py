"""The scheduled work, declared in code: django-q2 runs each sweep on its schedule through
`sweep_run`, which keeps its run history (SweepRun), and `manage.py sync_schedules` (run by
`make run`) makes the database say the same, by name. `manage.py run_sweep NAME` runs one once.

A sweep function is named by its dotted path, so this core module imports no app above it. It
takes `now` (an aware datetime: operators and tests run sweeps as of a given moment) and `since`
(the as-of moment of the sweep's last successful run, or None before its first), and returns
a dict of counts with at least `examined` and `changed`, plus `errors`: a list of what went
wrong with single rows, which it skipped. Working from `since` to `now` keeps a sweep's cost
following the rows that changed since it last ran, not the size of the tables (PLATFORM.md).
"""

import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# Runs are kept this long; the first-response sweep alone runs 1,440 times a day.
HISTORY_KEPT = timedelta(days=14)


@dataclass(frozen=True)
class Sweep:
    name: str
    func: str
    minutes: int
    description: str


SWEEPS = [
    Sweep(
        "first-response",
        "leads.tasks.first_response_sweep",
        1,
        "Warn owners before the first response is due; rotate or pool the leads it was missed on.",
    ),
    Sweep(
        "response-times",
        "leads.tasks.response_times_refresh",
        60,
        "Each person's median first-response time over 30 days, for fastest-responder routing.",
    ),
    Sweep(
        "stale",
        "leads.tasks.stale_sweep",
        10,
        "Flag open leads quiet for a tier's days (7, 14 and 21 unless set otherwise); give the "
        "ones whose customer is still shopping on the website back to their salesperson, with "
        "what they looked at.",
    ),
    Sweep(
        "reactivation",
        "leads.tasks.reactivation_sweep",
        10,
        "Return lost leads to work (or to a manager's review) when their customer shows buying "
        "behaviour on the website again.",
    ),
    Sweep(
        "recycle",
        "leads.tasks.recycle_sweep",
        60,
        "Turn customers' coming life-cycle dates (lease end, loan maturity, warranty end, "
        "purchase anniversary, service due) into leads for their previous salesperson.",
    ),
    Sweep(
        "archive",
        "leads.tasks.archive_sweep",
        7 * 24 * 60,
        "Weekly: archive newcomers buying later than in 3 months who have been quiet too long.",
    ),
    Sweep(
        "task-reminders",
        "leads.tasks.task_reminders_sweep",
        60,
        "Each morning: remind every salesperson of the tasks due today and overdue.",
    ),
    Sweep(
        "service-recapture",
        "service.tasks.recapture_sweep",
        60,
        "Bring lost service sales back: missed appointments to rebook and declined work to "
        "offer again after their days, and work declined on price when a campaign fits it.",
    ),
]
SWEEPS_BY_NAME = {sweep.name: sweep for sweep in SWEEPS}
RUNNER = "dealercrm.schedules.sweep_run"


def moment(now):
    """`now` as an aware datetime: None is the current time; a text is ISO 8601."""
    if now is None:
        return timezone.now()
    if isinstance(now, str):
        parsed = parse_datetime(now)
        if parsed is None:
            raise ValueError(f"--now {now!r} is not an ISO 8601 date and time.")
        now = parsed
    return now if timezone.is_aware(now) else timezone.make_aware(now)


def sweep_run(name, now=None):
    """Run the sweep `name` as of `now` and keep its run in the history. Returns its counts.

    The window starts at the as-of moment of the sweep's last successful run that is not later
    than `now`. A run that fails is recorded with its error and raised again, so that
    django-q2 shows it too; its window is covered again by the next run, and every sweep is
    idempotent, so what it did before failing is not done twice.
    """
    from dealercrm.models import SweepRun

    sweep = SWEEPS_BY_NAME[name]
    now = moment(now)
    started = timezone.now()
    _abandoned_mark(name, started)
    since = (
        SweepRun.objects.filter(name=name, status=SweepRun.Status.DONE, as_of__lte=now)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    run = SweepRun.objects.create(name=name, as_of=now, since=since, started_at=started)
    try:
        result = import_string(sweep.func)(now=now, since=since)
    except Exception as error:
        run.status = SweepRun.Status.FAILED
        run.errors = 1
        run.error = _describe(error)
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "errors", "error", "finished_at"])
        logger.exception("sweep %s as of %s failed", name, now.isoformat())
        raise
    errors = result.pop("errors", [])
    run.status = SweepRun.Status.DONE
    run.examined = result.get("examined", 0)
    run.changed = result.get("changed", 0)
    run.errors = len(errors)
    run.error = "\n".join(errors[:20])
    run.counts = result
    run.finished_at = timezone.now()
    run.save(
        update_fields=["status", "examined", "changed", "errors", "error", "counts", "finished_at"]
    )
    SweepRun.objects.filter(name=name, started_at__lt=started - HISTORY_KEPT).delete()
    if run.changed or errors:
        logger.info("sweep %s as of %s: %s", name, now.isoformat(), result)
    return {**result, "errors": len(errors)}


def _abandoned_mark(name, started):
    """A run still 'running' long after the cluster would have stopped it was killed (a worker
    timeout, a restart): say so, rather than leave it running forever in the history."""
    from django.conf import settings

    from dealercrm.models import SweepRun

    timeout = timedelta(seconds=settings.Q_CLUSTER.get("timeout") or 3600)
    SweepRun.objects.filter(
        name=name, status=SweepRun.Status.RUNNING, started_at__lt=started - 2 * timeout
    ).update(
        status=SweepRun.Status.FAILED,
        error="Did not finish: the worker running it was stopped.",
        errors=1,
    )


def _describe(error):
    where = traceback.extract_tb(error.__traceback__)[-1:]
    place = f" ({where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno})" if where else ""
    return f"{type(error).__name__}: {error}{place}"


def schedules_sync():
    """Create or update one django-q2 schedule per sweep, by name, and remove schedules of
    sweeps no longer declared. Idempotent. Returns (created, updated, removed) counts."""
    from django_q.models import Schedule

    created = updated = 0
    for sweep in SWEEPS:
        wanted = {
            "func": RUNNER,
            "args": repr(sweep.name),
            "schedule_type": Schedule.MINUTES,
            "minutes": sweep.minutes,
            "repeats": -1,
        }
        schedule, made = Schedule.objects.get_or_create(name=sweep.name, defaults=wanted)
        if made:
            created += 1
        elif any(getattr(schedule, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(schedule, field, value)
            schedule.save()
            updated += 1
    removed, _ = Schedule.objects.exclude(name__in=list(SWEEPS_BY_NAME)).delete()
    return created, updated, removed


def one_by_one(ids, act, noun, counts, errors):
    """`act(id)` for each id, each in its own transaction, counting what it returns (an outcome
    name, or nothing). One that fails is logged and reported in `errors`, and the others go on:
    a row a sweep cannot handle must not stop every row after it. Returns the failed ids."""
    failed = set()
    for pk in ids:
        counts["examined"] += 1
        try:
            outcome = act(pk)
        except Exception as error:
            logger.exception("sweep: %s %s failed", noun, pk)
            errors.append(f"{noun} {pk}: {type(error).__name__}: {error}")
            failed.add(pk)
            continue
        if outcome:
            counts[outcome] += 1
    return failed
