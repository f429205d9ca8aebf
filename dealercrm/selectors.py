"""Reads of the shared core."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection

from dealercrm.models import AuditEntry, Customer, Notification, SweepRun
from dealercrm.schedules import SWEEPS, Sweep


def customer_match_sql(email, phone):
    """SQL for a scalar subquery, with its parameters: the id of the customer with this
    normalised e-mail (the newest when several), else with this phone, else NULL.

    Written out because intake runs it for every lead, inside one round trip with its other
    questions (`leads.intake`), and building it through the ORM costs more than running it.
    Each branch states its partial index's condition (`<> ''`): SQLite uses a partial index only
    when the query states the index's WHERE clause.
    """
    table = connection.ops.quote_name(Customer._meta.db_table)
    sql = (
        f"COALESCE("
        f"(SELECT id FROM {table} WHERE email = %s AND email <> '' "
        f"ORDER BY created_at DESC, id DESC LIMIT 1), "
        f"(SELECT id FROM {table} WHERE phone = %s AND phone <> '' "
        f"ORDER BY created_at DESC, id DESC LIMIT 1))"
    )
    return sql, [email, phone]


def customer_matching(*, email="", phone=""):
    """The customer with this normalised e-mail, else with this phone (see customer_match_sql),
    or None."""
    if not (email or phone):
        return None
    sql, params = customer_match_sql(email, phone)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        (customer_id,) = cursor.fetchone()
    return None if customer_id is None else Customer.objects.get(pk=customer_id)


def notifications_for_user(user):
    """The user's notifications, newest first (unread and read), for their list."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def unread_notification_count(user):
    """How many of the user's notifications are unread: one count over the partial unread
    index, whatever their history holds."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


# The sweep history page shows this many runs of each sweep.
RUNS_SHOWN = 20
_MINUTES = {"week": 7 * 24 * 60, "day": 24 * 60, "hour": 60}
_EVERY = {"week": "weekly", "day": "daily", "hour": "hourly"}


def schedule_text(minutes):
    """How often a sweep runs, in words: "every minute", "every 10 min", "hourly", "weekly"."""
    if minutes == 1:
        return "every minute"
    for unit, size in _MINUTES.items():
        if minutes % size == 0:
            count = minutes // size
            return _EVERY[unit] if count == 1 else f"every {count} {unit}s"
    return f"every {minutes} min"


@dataclass
class SweepHistory:
    """One declared sweep with its latest runs, newest first (`last` is the latest)."""

    sweep: Sweep
    runs: list = field(default_factory=list)

    @property
    def last(self):
        return self.runs[0] if self.runs else None

    @property
    def every(self):
        return schedule_text(self.sweep.minutes)


def sweep_history(runs=RUNS_SHOWN):
    """Every declared sweep (dealercrm.schedules.SWEEPS, in that order) with its latest `runs`
    runs, each run with `count_pairs`: its counts as (what, how many), the examined and changed
    columns left out. One query.

    The query is a UNION ALL of one branch per sweep, each its latest runs through the
    (name, started_at) index with a LIMIT, so it reads `runs` rows per sweep. A window function
    (ROW_NUMBER() over each name, kept up to `runs`) would be one query too, but it numbers
    every run kept before filtering — the first-response sweep alone keeps about 20,000
    (HISTORY_KEPT) — so the page would slow down with the history. Written out because the
    ORM refuses a LIMIT on a union's members on SQLite.
    """
    table = connection.ops.quote_name(SweepRun._meta.db_table)
    # Each branch is wrapped in a derived table: SQLite takes no LIMIT on a compound's members.
    sql = " UNION ALL ".join(
        f"SELECT * FROM (SELECT * FROM {table} WHERE name = %s"
        f" ORDER BY started_at DESC, id DESC LIMIT %s) AS sweep_{number}"
        for number in range(len(SWEEPS))
    )
    params = [value for sweep in SWEEPS for value in (sweep.name, runs)]
    latest = SweepRun.objects.raw(f"{sql} ORDER BY started_at DESC, id DESC", params)
    by_name = defaultdict(list)
    for run in latest:
        run.count_pairs = [
            (what.replace("_", " "), count)
            for what, count in run.counts.items()
            if what not in ("examined", "changed")
        ]
        by_name[run.name].append(run)
    return [SweepHistory(sweep, by_name[sweep.name]) for sweep in SWEEPS]


def audit_entries():
    """The audit log, latest first, with who made each change."""
    return AuditEntry.objects.select_related("actor").order_by("-at", "-id")


def audit_actors():
    """The people who appear in the audit log, for its filter."""
    return (
        get_user_model()
        .objects.filter(pk__in=AuditEntry.objects.filter(actor__isnull=False).values("actor"))
        .order_by("first_name", "last_name", "username")
    )
