"""Salesperson base quality: each salesperson's open leads measured against the field's goals —
at least 65% target customers (buying within 1–3 months) and 5–7% long projects, the rest
archived weekly — with the KPIs the field runs a base on: overdue tasks, empty calls (under 7
minutes) and sales (DESIGN.md).

Who: the people whose role sells (salesperson, sales manager; BDC roles qualify leads and pass
them on, so they keep no base), of the filtered team (their staff team) or the filtered person.
People who left are shown only while something still counts for them (open leads, open tasks,
calls or sales).

A snapshot of the base now, whatever the period — the open leads (new, contacted, qualified,
appointment) each person owns, narrowed by the source, team and person filters on the lead:

- target customers: purchase horizon within a week, a month or 3 months; goal >= 65%;
- long projects: within 6 months or later (`leads.archive.LONG_HORIZONS`); goal 5–7%;
- unknown horizon: nobody has asked yet (target + long + unknown = 100%);
- due for archive: newcomers the weekly archive would close (`leads.archive`: new or contacted,
  a long horizon, no CRM activity for `LifecycleSettings.archive_after_days` or more), counted
  as of the start of `today` so the figure does not move during the day;
- overdue tasks: of the person's open tasks, those due before `today` (a task due today is not
  overdue). Like the base, a snapshot: a task's overdue days are not kept, so a past period
  cannot be asked.

For the period:

- short calls: of the person's personal outbound calls made in the period with a duration
  logged, those under 7 minutes (`leads.models.SHORT_CALL`: 6:59 is short, 7:00 is not);
- sales: the leads the person owns that were sold in the period (`closed_at`), narrowed by the
  lead filters.

Tasks and calls are the person's work whatever lead they were on: the source filter does not
narrow them, and the team and person filters narrow them through the people.
The totals are the sums over the people shown; leads waiting in a pool are in nobody's base.

Queries: the settings; the people; their open leads through (owner, status); their open tasks
through `task_open_assignee_due_idx` and their calls through `activity_call_actor_idx` (both read
from the index alone on PostgreSQL); their sales through (status, closed_at). The open leads and
the sales are counted from columns those two indexes can carry (`status`, `closed_at`, not the
id), so that covering them (with the horizon, the last activity, source and team) takes them off
the lead rows.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from dealercrm.models import Role, person_name
from dealercrm.periods import midnight
from leads.archive import ARCHIVABLE_STATUSES, LONG_HORIZONS
from leads.models import (
    OPEN_STATUSES,
    SHORT_CALL,
    Activity,
    FollowUpTask,
    Lead,
    LeadStatus,
    LifecycleSettings,
)
from leads.reports.base import Chart, Column, Figure, Kind, Report, Table, share

KEY = "base-quality"
TITLE = "Salesperson base quality"
SUMMARY = (
    "Each salesperson's base: purchase horizons, long projects, leads "
    "due for archive, overdue tasks, short calls, sales."
)

SALES_ROLES = (Role.SALESPERSON, Role.SALES_MANAGER)
TARGET_HORIZONS = (
    Lead.PurchaseHorizon.WITHIN_WEEK,
    Lead.PurchaseHorizon.WITHIN_MONTH,
    Lead.PurchaseHorizon.WITHIN_3_MONTHS,
)
# The field's goals for a base (DESIGN.md). The long-project goal is a range, which has no
# single number: its benchmark is written "5–7".
TARGET_GOAL = Decimal(65)
LONG_GOAL_LOW, LONG_GOAL_HIGH = Decimal(5), Decimal(7)
LONG_GOAL = f"{LONG_GOAL_LOW}–{LONG_GOAL_HIGH}"
MEETS, BELOW, ABOVE = "meets goal", "below goal", "above goal"

_OPEN = sorted(OPEN_STATUSES)


def _people(filters):
    people = get_user_model().objects.filter(staff__role__in=SALES_ROLES)
    if filters.team is not None:
        people = people.filter(staff__team=filters.team)
    if filters.person is not None:
        people = people.filter(pk=filters.person.pk)
    return list(
        people.select_related("staff__team").order_by("first_name", "last_name", "username")
    )


def _by(rows, key):
    return {row.pop(key): row for row in rows}


def _bases(filters, people, quiet_since):
    """{owner id: counts} of the open leads each person owns now. Counting `status` (never
    empty) instead of the id lets a covering (owner, status) index answer alone."""
    due_for_archive = Q(
        status__in=ARCHIVABLE_STATUSES,
        purchase_horizon__in=LONG_HORIZONS,
        last_activity_at__lte=quiet_since,
    )
    rows = (
        Lead.objects.filter(owner__in=people, status__in=_OPEN)
        .filter(filters.group_filter())
        .values("owner")
        .annotate(
            open_leads=Count("status"),
            target=Count("status", filter=Q(purchase_horizon__in=TARGET_HORIZONS)),
            long=Count("status", filter=Q(purchase_horizon__in=LONG_HORIZONS)),
            unknown=Count("status", filter=Q(purchase_horizon=Lead.PurchaseHorizon.UNKNOWN)),
            due_for_archive=Count("status", filter=due_for_archive),
        )
        .order_by("owner")
    )
    return _by(rows, "owner")


def _tasks(people, today):
    """{assignee id: counts} of their open tasks. Counting `due_on` (never empty) instead of the
    id keeps the scan on the task index alone."""
    rows = (
        FollowUpTask.objects.filter(status=FollowUpTask.Status.OPEN, assignee__in=people)
        .values("assignee")
        .annotate(
            open_tasks=Count("due_on"), overdue_tasks=Count("due_on", filter=Q(due_on__lt=today))
        )
        .order_by("assignee")
    )
    return _by(rows, "assignee")


def _calls(filters, people):
    """{actor id: counts} of their personal outbound calls in the period with a duration. The
    condition is the call index's own, so the calls are read from it alone."""
    period = filters.period
    short = SHORT_CALL.total_seconds()
    rows = (
        Activity.objects.filter(
            kind=Activity.Kind.CALL,
            automated=False,
            direction=Activity.Direction.OUTBOUND,
            actor__in=people,
            occurred_at__gte=period.since,
            occurred_at__lt=period.until,
            duration_seconds__isnull=False,
        )
        .values("actor")
        .annotate(
            calls=Count("duration_seconds"),
            short_calls=Count("duration_seconds", filter=Q(duration_seconds__lt=short)),
        )
        .order_by("actor")
    )
    return _by(rows, "actor")


def _sales(filters, people):
    """{owner id: sales} in the period, counting `closed_at` (of a sold lead, never empty) so
    that a covering (status, closed_at) index can answer alone."""
    period = filters.period
    rows = (
        Lead.objects.filter(
            status=LeadStatus.SOLD,
            closed_at__gte=period.since,
            closed_at__lt=period.until,
            owner__in=people,
        )
        .filter(filters.group_filter())
        .values("owner")
        .annotate(sales=Count("closed_at"))
        .order_by("owner")
    )
    return _by(rows, "owner")


COUNTS = [
    "open_leads",
    "target",
    "long",
    "unknown",
    "due_for_archive",
    "open_tasks",
    "overdue_tasks",
    "calls",
    "short_calls",
    "sales",
]


def _target_mark(target_share):
    if target_share is None:
        return ""
    return MEETS if target_share >= TARGET_GOAL else BELOW


def _long_mark(long_share):
    if long_share is None:
        return ""
    if long_share < LONG_GOAL_LOW:
        return BELOW
    return ABOVE if long_share > LONG_GOAL_HIGH else MEETS


def _shares(counts):
    open_leads = counts["open_leads"]
    target_share = share(counts["target"], open_leads)
    long_share = share(counts["long"], open_leads)
    return {
        "target_share": target_share,
        "target_goal": TARGET_GOAL,
        "target_mark": _target_mark(target_share),
        "long_share": long_share,
        "long_mark": _long_mark(long_share),
        "unknown_share": share(counts["unknown"], open_leads),
        "overdue_share": share(counts["overdue_tasks"], counts["open_tasks"]),
        "short_call_share": share(counts["short_calls"], counts["calls"]),
    }


def _is_shown(user, counts):
    """The people who work now, and people who left while something still counts for them."""
    working = user.is_active and user.staff.active
    return working or any(counts[name] for name in COUNTS)


COLUMNS = [
    Column("label", "Person", Kind.TEXT),
    Column("team", "Team", Kind.TEXT),
    Column("open_leads", "Open leads"),
    Column("target_share", "Target customers", Kind.PERCENT, "Buying within 3 months; goal 65%+."),
    Column("target_mark", "Target goal (65%+)", Kind.TEXT),
    Column("long_share", "Long projects", Kind.PERCENT, "Buying in 6 months or later; goal 5–7%."),
    Column("long_mark", "Long-project goal (5–7%)", Kind.TEXT),
    Column("unknown_share", "Horizon unknown", Kind.PERCENT),
    Column(
        "due_for_archive",
        "Due for archive",
        help="New or contacted, buying later than in 3 months, quiet long enough to archive.",
    ),
    Column("open_tasks", "Open tasks"),
    Column("overdue_share", "Overdue tasks", Kind.PERCENT, "Open tasks due before today."),
    Column("calls", "Calls", help="Personal outbound calls in the period with a duration."),
    Column("short_call_share", "Calls under 7 min", Kind.PERCENT),
    Column("sales", "Sales", help="Leads the person owns sold in the period."),
]


def build(filters, today):
    archive_after = timedelta(days=LifecycleSettings.current().archive_after_days)
    people = _people(filters)
    bases = _bases(filters, people, midnight(today) - archive_after)
    tasks = _tasks(people, today)
    calls = _calls(filters, people)
    sales = _sales(filters, people)

    rows = []
    for user in people:
        counts = dict.fromkeys(COUNTS, 0)
        for found in (bases, tasks, calls, sales):
            counts.update(found.get(user.pk, {}))
        if not _is_shown(user, counts):
            continue
        team = user.staff.team
        rows.append(
            {"label": person_name(user), "person_id": user.pk, "team": team.name if team else ""}
            | counts
            | _shares(counts)
        )
    totals = {name: sum(row[name] for row in rows) for name in COUNTS}
    total = _shares(totals)

    figures = [
        Figure(
            "open_leads",
            "Open leads in salespeople's bases",
            totals["open_leads"],
            Kind.COUNT,
            help="A snapshot now, whatever the period.",
        ),
        Figure(
            "target_share",
            "Target customers (buying within 3 months)",
            total["target_share"],
            benchmark=TARGET_GOAL,
            benchmark_text="Goal: at least 65% of a base buying within 1–3 months.",
        ),
        Figure(
            "long_share",
            "Long projects (6 months or later)",
            total["long_share"],
            benchmark=LONG_GOAL,
            benchmark_text="Goal: 5–7% long projects; the rest archived weekly.",
        ),
        Figure(
            "unknown_share",
            "Purchase horizon unknown",
            total["unknown_share"],
            help="Nobody has asked the customer yet.",
        ),
        Figure(
            "due_for_archive",
            "Newcomers due for archive",
            totals["due_for_archive"],
            Kind.COUNT,
            help="The weekly archive closes them (recoverable).",
        ),
        Figure(
            "overdue_share",
            "Overdue tasks",
            total["overdue_share"],
            help="Of the open tasks now, those due before today.",
        ),
        Figure(
            "short_call_share",
            "Calls under 7 minutes",
            total["short_call_share"],
            help="Calls under 7 minutes are usually empty.",
        ),
        Figure("sales", "Sales", totals["sales"], Kind.COUNT),
    ]
    return Report(
        key=KEY,
        title=TITLE,
        description=(
            "Each salesperson's open leads now: target customers (buying within 3 months, goal "
            "65% or more), long projects (6 months or later, goal 5–7%), unknown horizons, "
            "newcomers due for the weekly archive, and overdue tasks; for the period, the share "
            "of calls under 7 minutes (usually empty) and sales."
        ),
        filters=filters,
        figures=figures,
        tables=[
            Table(
                key="by_person",
                title="By salesperson",
                columns=COLUMNS,
                rows=rows,
                note=(
                    "Open leads, their horizons, archive and tasks: now. Calls and sales: in the "
                    "period. Tasks and calls are not narrowed by the source filter."
                ),
                chart=Chart(
                    value="target_share",
                    compare="target_goal",
                    title="Target customers per salesperson, against the 65% goal",
                    current_label="Target customers",
                    compare_label="Goal",
                ),
            )
        ],
    )
