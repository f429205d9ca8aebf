"""The service KPIs: how much money was at stake, how much of it was lost, to which reason, by
whom and in which month, how much came back, and whether a corrective action made its reason
rarer.

`service_kpis(start, end)` answers with plain figures (a dataclass of Decimals, ints and dates)
that the page, its CSV and the API all show. Every sum and count is a GROUP BY in the database
over an index range scan: the opportunities of the period through `serviceopp_kpi_idx`
(created_at, advisor, initial_value), the losses through `serviceloss_kpi_idx` (at, reason,
advisor, amount), both read from the index alone. Python only adds up the grouped rows (a few
thousand at most), so the cost follows the rows of the period, not the size of the tables.

Days are the dealership's (settings.TIME_ZONE): a period runs from midnight of its first day to
midnight after its last.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import Count, Max, Min, Sum, Value
from django.utils import timezone

from dealercrm.models import person_name
from dealercrm.periods import Period, first_of_month, midnight, percent
from leads.models import Reason
from service.models import CorrectiveAction, Recapture, ServiceLoss, ServiceOpportunity

ZERO = Decimal("0.00")
# A corrective action is judged on the same number of days before and after its start: as many
# as have passed since it started, but at least a month (fewer days say little) and at most half
# a year (later on, other changes blur the comparison).
ACTION_WINDOW_MIN_DAYS = 30
ACTION_WINDOW_MAX_DAYS = 180
# The KPI page shows the latest actions started in its period; the corrective-actions page
# lists them all.
ACTIONS_SHOWN = 12
NO_ADVISOR = "No advisor"


def _points(after, before):
    """The change between two percentages, in percentage points; None when one is missing."""
    if after is None or before is None:
        return None
    return after - before


# --- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    at_stake: Decimal  # initial value of the opportunities opened in the period
    opened: int
    lost: Decimal  # amounts of the losses logged in the period
    losses: int
    percent: Decimal | None  # lost as a % of at_stake


@dataclass(frozen=True)
class Trend:
    current: Totals
    previous: Totals
    lost_change: Decimal
    lost_change_percent: Decimal | None  # of the previous lost money
    at_stake_change: Decimal
    percent_change: Decimal | None  # in percentage points


@dataclass(frozen=True)
class ReasonFigures:
    reason_id: int
    code: str
    label: str
    lost: Decimal
    losses: int
    percent_of_stake: Decimal | None  # of all money at stake in the period
    share_of_lost: Decimal | None  # of all money lost in the period
    previous_lost: Decimal
    previous_losses: int
    change: Decimal  # lost - previous_lost
    change_percent: Decimal | None  # of previous_lost


@dataclass(frozen=True)
class AdvisorFigures:
    advisor_id: int | None
    name: str
    lost: Decimal  # losses logged against them (the advisor when the sale was lost)
    losses: int
    at_stake: Decimal  # opportunities opened in the period with them as advisor
    opened: int
    percent: Decimal | None


@dataclass(frozen=True)
class MonthFigures:
    month: date  # the first of the month; the first and last months may be partial
    lost: Decimal
    losses: int
    at_stake: Decimal
    opened: int
    percent: Decimal | None


@dataclass(frozen=True)
class RecoveryFigures:
    """What came back of the money lost in the period (whenever it came back)."""

    lost: Decimal
    losses: int
    won_back: Decimal  # delivered recovery opportunities, at what was invoiced
    won_back_count: int
    won_back_percent: Decimal | None  # of lost
    booked_back: Decimal  # recovery opportunities still open, at their estimate
    booked_back_count: int
    booked_back_percent: Decimal | None
    recaptures: int  # times a lost sale was brought back in front of someone
    recaptures_booked: int  # of which the customer booked


@dataclass(frozen=True)
class ActionFigures:
    """A reason's share of the losses before and after a corrective action against it, on two
    windows of `window_days` days each."""

    action_id: int
    action: str
    reason_id: int
    reason_label: str
    started_on: date
    window_days: int
    before_start: date
    before_end: date
    after_start: date
    after_end: date
    complete: bool  # the after window has ended: the comparison is final
    days_observed: int  # days of the after window up to today
    before_losses: int
    before_reason_losses: int
    after_losses: int
    after_reason_losses: int
    before_lost: Decimal
    before_reason_lost: Decimal
    after_lost: Decimal
    after_reason_lost: Decimal
    before_count_share: Decimal | None
    after_count_share: Decimal | None
    count_share_change: Decimal | None  # percentage points
    before_money_share: Decimal | None
    after_money_share: Decimal | None
    money_share_change: Decimal | None


@dataclass(frozen=True)
class ServiceKpis:
    period: Period
    previous_period: Period
    totals: Totals
    trend: Trend
    by_reason: list[ReasonFigures]
    by_advisor: list[AdvisorFigures]
    by_month: list[MonthFigures]
    recovery: RecoveryFigures
    actions: list[ActionFigures]
    more_actions: bool  # more actions started in the period than ACTIONS_SHOWN


# --- the queries -----------------------------------------------------------------------------


def _money(value):
    return ZERO if value is None else Decimal(value).quantize(ZERO)


def _sliced(queryset, field, slices, group_by, **aggregates):
    """The rows of `queryset` whose `field` is in each slice of time, grouped: [(slice number,
    *group_by, *aggregates)], in one query. `slices` are (since, until, columns): a slice is
    grouped by its `columns` (some of `group_by`, in order), the others read NULL.

    Why not GROUP BY TruncMonth(field): the month would be computed for every row (a time-zone
    conversion each, about as costly as reading the row), and PostgreSQL, unable to tell how
    many months a timestamp column holds, plans for as many groups as rows. Here each slice is
    one branch of a UNION ALL: a plain range of the (field, ...) index and a handful of groups,
    and PostgreSQL runs the branches in parallel.

    The ORM writes each kind of branch once; the branches repeat its SQL with their own dates.
    Building and compiling a queryset per branch cost about 2 ms each, more than the database
    took to answer."""
    if not slices:
        return []
    connection = connections[queryset.db]
    name = connection.ops.quote_name
    column = queryset.model._meta.get_field(field)

    def dates(since, until):
        return [column.get_db_prep_value(moment, connection) for moment in (since, until)]

    db_type = {col: queryset.model._meta.get_field(col).db_type(connection) for col in group_by}
    templates = {}
    for since, until, columns in slices:
        if columns in templates:
            continue
        branch = (
            queryset.filter(**{f"{field}__gte": since, f"{field}__lt": until})
            .values(*columns, **({} if columns else {"whole": Value(0)}))
            .annotate(**aggregates)
            .order_by()
            .values_list(*columns, *aggregates)
        )
        sql, params = branch.query.sql_with_params()
        if list(params) != dates(since, until):
            raise AssertionError(f"Expected the slice's two dates as the only parameters: {sql}")
        # A typed NULL: PostgreSQL takes an untyped one for text when two branches have one.
        selected = ", ".join(
            [
                f"branch.{name(col)}" if col in columns else f"CAST(NULL AS {db_type[col]})"
                for col in group_by
            ]
            + [f"branch.{name(alias)}" for alias in aggregates]
        )
        templates[columns] = f"{selected} FROM ({sql}) AS branch"
    union = " UNION ALL ".join(
        f"SELECT {number} AS slice, {templates[columns]}"
        for number, (_since, _until, columns) in enumerate(slices)
    )
    params = [value for since, until, _columns in slices for value in dates(since, until)]
    with connection.cursor() as cursor:
        cursor.execute(union, params)
        rows = cursor.fetchall()
    if connection.vendor != "sqlite":
        return rows
    # SQLite sums decimals as floats (or ints): back to cents, as the ORM's converter would.
    money = {
        1 + len(group_by) + number
        for number, aggregate in enumerate(aggregates.values())
        if isinstance(aggregate, Sum)
    }
    return [
        tuple(
            _money(Decimal(str(value))) if index in money and value is not None else value
            for index, value in enumerate(row)
        )
        for row in rows
    ]


# A key no reason or advisor id can be: the sums of every row.
ALL = object()


class Timeline:
    """Rows of a table counted and summed between consecutive days: the days given (the edges
    of months, of periods, of corrective actions' windows) cut time into pieces, each piece is
    grouped in the database (`_sliced`), and any span from one edge to another adds up its
    pieces. One scan serves the months, the period before and every action's windows.

    Each row ends with its money and its count; `sums` adds them up by the row's first column
    (reason, or advisor), per piece, once."""

    def __init__(self, queryset, field, spans, group_by, *, detail=None, coarse=(), **aggregates):
        """`spans`: the (first day, day after the last) that will be asked for. Pieces inside
        the `detail` span are grouped by `group_by`, the others by `coarse` only (fewer groups
        to count and to send where only totals are wanted)."""
        self.edges = sorted({day for span in spans for day in span})
        self.position = {day: number for number, day in enumerate(self.edges)}
        needed = sorted(
            {
                piece
                for first, after in spans
                for piece in range(self.position[first], self.position[after])
            }
        )
        group_by, coarse = tuple(group_by), tuple(coarse)

        def columns(piece):
            if detail is None or detail[0] <= self.edges[piece] < detail[1]:
                return group_by
            return coarse

        pieces = [
            (midnight(self.edges[i]), midnight(self.edges[i + 1]), columns(i)) for i in needed
        ]
        self.rows_of_piece = defaultdict(list)
        self.sums_of_piece = defaultdict(lambda: defaultdict(lambda: [ZERO, 0]))
        for branch, *row in _sliced(queryset, field, pieces, group_by, **aggregates):
            if not row[-1]:
                continue  # an ungrouped piece without rows still answers one: NULL, 0
            piece = needed[branch]
            self.rows_of_piece[piece].append(row)
            for key in (row[0], ALL):
                sums = self.sums_of_piece[piece][key]
                sums[0] += row[-2]
                sums[1] += row[-1]

    def _pieces(self, first, after):
        return range(self.position[first], self.position[after])

    def rows(self, first, after):
        """The grouped rows of the days from `first` to the day before `after`, piece by piece
        (a group appears once per piece)."""
        for piece in self._pieces(first, after):
            yield from self.rows_of_piece.get(piece, ())

    def sums(self, first, after, key=None):
        """(money, count) of the days from `first` to the day before `after`: of the rows whose
        first column is `key`, or of them all."""
        money, count = ZERO, 0
        for piece in self._pieces(first, after):
            sums = self.sums_of_piece.get(piece)
            if sums is not None and (ALL if key is None else key) in sums:
                piece_money, piece_count = sums[ALL if key is None else key]
                money += piece_money
                count += piece_count
        return _money(money), count


def _span(period):
    return (period.start, period.end + timedelta(days=1))


def _month_spans(period):
    """The calendar months of the period, the first and the last cut to it: [(month, first day,
    day after the last)]."""
    months = []
    month = first_of_month(period.start)
    while month <= period.end:
        following = first_of_month(month + timedelta(days=31))
        months.append((month, max(month, period.start), min(following, _span(period)[1])))
        month = following
    return months


def _quarters(period):
    """The period in four spans. Only its sums are wanted, but PostgreSQL runs a UNION ALL's
    branches in parallel, a branch to a worker: one branch as long as the whole period would
    keep one worker busy while the others wait; a branch per month, more to plan."""
    edges = sorted({period.start + timedelta(days=period.days * i // 4) for i in range(4)})
    return list(zip(edges, [*edges[1:], _span(period)[1]], strict=True))


def _at_stake(spans, detail):
    """The opportunities opened in each span: rows of (advisor id, money at stake, count), by
    advisor within `detail` (the period), in all elsewhere; read from serviceopp_kpi_idx
    alone (COUNT(*), not COUNT(id), which is not in it)."""
    return Timeline(
        ServiceOpportunity.objects.all(),
        "created_at",
        spans,
        ["advisor_id"],
        detail=detail,
        at_stake=Sum("initial_value"),
        opened=Count("*"),
    )


def _lost(spans, detail=None):
    """The losses logged in each span: rows of (reason id, advisor id, money lost, count), by
    advisor too within `detail` (the period); read from serviceloss_kpi_idx alone."""
    return Timeline(
        ServiceLoss.objects.all(),
        "at",
        spans,
        ["reason_id", "advisor_id"],
        detail=detail or (date.min, date.min),
        coarse=["reason_id"],
        lost=Sum("amount"),
        losses=Count("*"),
    )


def _loss_ids(period, count):
    """The ids of the period's `count` losses, as (low, high, exactly): the lowest and the
    highest, and whether they are exactly the losses with an id from low to high.

    Ids grow with time, so the losses of a period are usually a run of consecutive ids: when
    the `count` ids just below the period's highest hold `count` losses of the period, they
    are all of them (two cheap queries: the highest id, walked down the primary key from the
    newest loss; and a count over that range). Otherwise (a loss logged with an earlier date,
    say by an import) the lowest id is looked for among all the period's losses."""
    losses = ServiceLoss.objects.filter(at__gte=period.since, at__lt=period.until)
    high = losses.aggregate(high=Max("id"))["high"]
    if high is None:
        return None
    low = high - count + 1
    if losses.filter(id__gte=low, id__lte=high).count() == count:
        return low, high, True
    return losses.aggregate(low=Min("id"))["low"], high, False


def _came_back(period, count):
    """What came back of the period's `count` losses, whenever it came back:
    {("recapture", status): (count, None)} for the times one was brought back to someone,
    {("recovery", status): (count, money)} for the opportunities that win one back (delivered:
    at what was invoiced; open: at their estimate).

    Written out: recaptures and recovery opportunities side by side, so that one pass finds
    both. They are looked up by their loss's id: a range of their `loss` and `recovers`
    indexes (`_loss_ids`). When the period's losses are exactly the losses of that range,
    nothing else is needed; otherwise each is also matched against the period's losses, whose
    rows must then be read (no index holds a loss's id with its date)."""
    ids = _loss_ids(period, count) if count else None
    if ids is None:
        return {}
    low, high, exactly = ids
    connection = connections[ServiceLoss.objects.db]
    name = connection.ops.quote_name
    loss, opportunity, recapture = (
        model._meta for model in (ServiceLoss, ServiceOpportunity, Recapture)
    )

    def column(meta, field):
        return name(meta.get_field(field).column)

    loss_id, recovers = column(recapture, "loss"), column(opportunity, "recovers")
    matched = (
        ""
        if exactly
        else f"""
        INNER JOIN {name(loss.db_table)} AS loss ON loss.{column(loss, "id")} = came_back.loss_id
        WHERE loss.{column(loss, "at")} >= %(since)s AND loss.{column(loss, "at")} < %(until)s
            AND loss.{column(loss, "id")} BETWEEN %(low)s AND %(high)s"""
    )
    sql = f"""
        SELECT came_back.kind, came_back.status, COUNT(*), SUM(came_back.money)
        FROM (
            SELECT {loss_id} AS loss_id, 'recapture' AS kind,
                {column(recapture, "status")} AS status, NULL AS money
            FROM {name(recapture.db_table)}
            WHERE {loss_id} BETWEEN %(low)s AND %(high)s
            UNION ALL
            SELECT {recovers}, 'recovery', {column(opportunity, "status")},
                CASE WHEN {column(opportunity, "status")} = %(won)s
                    THEN {column(opportunity, "actual_value")}
                    ELSE {column(opportunity, "estimated_value")} END
            FROM {name(opportunity.db_table)}
            WHERE {recovers} BETWEEN %(low)s AND %(high)s
        ) AS came_back{matched}
        GROUP BY came_back.kind, came_back.status
    """
    at = loss.get_field("at")
    params = {
        "low": low,
        "high": high,
        "won": ServiceOpportunity.Status.WON.value,
        "since": at.get_db_prep_value(period.since, connection),
        "until": at.get_db_prep_value(period.until, connection),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        (kind, status): (number, None if money is None else _money(Decimal(str(money))))
        for kind, status, number, money in rows
    }


def _reasons(ids):
    if not ids:
        return []
    return list(Reason.objects.filter(pk__in=ids).only("code", "label"))


def _advisor_names(ids):
    ids = {pk for pk in ids if pk is not None}
    if not ids:
        return {}
    people = get_user_model().objects.filter(pk__in=ids).only("username", "first_name", "last_name")
    return {person.pk: person_name(person) for person in people}


# --- the selector ----------------------------------------------------------------------------


def service_kpis(start, end, today=None):
    """The KPIs of the days `start` to `end` (both included), compared with the same number
    of days just before. `today` (the dealership's, by default) ends the corrective actions'
    after windows. The caller checks the period first (`period_refusal`).

    Queries: the corrective actions started in the period; the money at stake (one UNION ALL:
    a GROUP BY advisor per month of the period, a SUM per quarter of the period before); the
    money lost (one UNION ALL: a GROUP BY reason and advisor per piece of the period between
    its months' and the actions' windows' edges, by reason alone outside it); the reasons'
    labels; the advisors' names; and what came back (`_came_back`, two or three)."""
    today = today or timezone.localdate()
    period = Period(start, end)
    previous = period.before()
    months = _month_spans(period)
    month_spans = [(first, after) for _, first, after in months] + _quarters(previous)
    actions = _actions_started(period)
    shown = actions[:ACTIONS_SHOWN]
    windows = {action.pk: action_windows(action.started_on, today) for action in shown}

    stake = _at_stake(month_spans, _span(period))
    lost = _lost(
        month_spans + [span for window in windows.values() for span in window.spans],
        _span(period),
    )
    loss_rows = list(lost.rows(*_span(period)))
    previous_losses = list(lost.rows(*_span(previous)))
    totals = _totals(stake, lost, period)

    return ServiceKpis(
        period=period,
        previous_period=previous,
        totals=totals,
        trend=_trend(totals, _totals(stake, lost, previous)),
        by_reason=_by_reason(loss_rows, previous_losses, totals),
        by_advisor=_by_advisor(list(stake.rows(*_span(period))), loss_rows),
        by_month=_by_month(months, stake, lost),
        recovery=_recovery(period, totals),
        actions=_action_figures(shown, windows, lost, today),
        more_actions=len(actions) > ACTIONS_SHOWN,
    )


def _totals(stake, lost, period):
    at_stake, opened = stake.sums(*_span(period))
    money, losses = lost.sums(*_span(period))
    return Totals(
        at_stake=at_stake,
        opened=opened,
        lost=money,
        losses=losses,
        percent=percent(money, at_stake),
    )


def _add_up(rows, key, money=-2, count=-1):
    """{row[key]: [money, count]} over grouped rows."""
    sums = defaultdict(lambda: [ZERO, 0])
    for row in rows:
        sums[row[key]][0] += row[money]
        sums[row[key]][1] += row[count]
    return sums


def _trend(current, previous):
    return Trend(
        current=current,
        previous=previous,
        lost_change=current.lost - previous.lost,
        lost_change_percent=percent(current.lost - previous.lost, previous.lost),
        at_stake_change=current.at_stake - previous.at_stake,
        percent_change=_points(current.percent, previous.percent),
    )


def _by_reason(loss_rows, previous_rows, totals):
    current, before_by_reason = _add_up(loss_rows, 0), _add_up(previous_rows, 0)
    figures = []
    for reason in _reasons(set(current) | set(before_by_reason)):
        lost, losses = current.get(reason.pk, (ZERO, 0))
        lost = _money(lost)
        before, before_losses = before_by_reason.get(reason.pk, (ZERO, 0))
        before = _money(before)
        figures.append(
            ReasonFigures(
                reason_id=reason.pk,
                code=reason.code,
                label=reason.label,
                lost=lost,
                losses=losses,
                percent_of_stake=percent(lost, totals.at_stake),
                share_of_lost=percent(lost, totals.lost),
                previous_lost=before,
                previous_losses=before_losses,
                change=lost - before,
                change_percent=percent(lost - before, before),
            )
        )
    figures.sort(key=lambda row: (-row.lost, -row.previous_lost, row.label))
    return figures


def _by_advisor(stake_rows, loss_rows):
    at_stake, lost = _add_up(stake_rows, 0, money=1, count=2), _add_up(loss_rows, 1)
    advisors = set(at_stake) | set(lost)
    names = _advisor_names(advisors)
    figures = []
    for advisor_id in advisors:
        stake, opened = at_stake.get(advisor_id, (ZERO, 0))
        money, losses = lost.get(advisor_id, (ZERO, 0))
        figures.append(
            AdvisorFigures(
                advisor_id=advisor_id,
                name=names.get(advisor_id, NO_ADVISOR),
                lost=_money(money),
                losses=losses,
                at_stake=_money(stake),
                opened=opened,
                percent=percent(money, stake),
            )
        )
    # The advisors who lose the most first; the opportunities nobody advised last.
    figures.sort(key=lambda row: (row.advisor_id is None, -row.lost, row.name))
    return figures


def _by_month(months, stake, lost):
    figures = []
    for month, first, after in months:
        at_stake, opened = stake.sums(first, after)
        money, losses = lost.sums(first, after)
        figures.append(
            MonthFigures(
                month=month,
                lost=money,
                losses=losses,
                at_stake=at_stake,
                opened=opened,
                percent=percent(money, at_stake),
            )
        )
    return figures


def _recovery(period, totals):
    came_back = _came_back(period, totals.losses)

    def count(kind, *statuses):
        return sum(came_back.get((kind, status), (0, None))[0] for status in statuses)

    def money(status):
        return came_back.get(("recovery", status), (0, None))[1] or ZERO

    won, open_ = ServiceOpportunity.Status.WON, ServiceOpportunity.Status.OPEN
    won_back, booked_back = money(won), money(open_)
    return RecoveryFigures(
        lost=totals.lost,
        losses=totals.losses,
        won_back=won_back,
        won_back_count=count("recovery", won),
        won_back_percent=percent(won_back, totals.lost),
        booked_back=booked_back,
        booked_back_count=count("recovery", open_),
        booked_back_percent=percent(booked_back, totals.lost),
        recaptures=count("recapture", *Recapture.Status.values),
        recaptures_booked=count("recapture", Recapture.Status.BOOKED),
    )


# --- corrective actions ----------------------------------------------------------------------


def _actions_started(period):
    """The latest actions started in the period, one more than are shown (to tell whether
    there are more)."""
    return list(
        CorrectiveAction.objects.filter(started_on__gte=period.start, started_on__lte=period.end)
        .select_related("reason")
        .order_by("-started_on", "-id")[: ACTIONS_SHOWN + 1]
    )


@dataclass(frozen=True)
class Windows:
    """The two windows a corrective action is judged on, `days` long each: before =
    [before_start, started_on), after = [started_on, after_end]."""

    days: int
    before_start: date
    started_on: date
    after_end: date

    @property
    def spans(self):
        return [
            (self.before_start, self.started_on),
            (self.started_on, self.after_end + timedelta(days=1)),
        ]


def action_windows(started_on, today):
    """The windows of an action started on `started_on`, as of `today`. The after window
    starts on `started_on` and runs as many days as have passed since (today included), at
    least ACTION_WINDOW_MIN_DAYS and at most ACTION_WINDOW_MAX_DAYS; the before window is as
    long and ends the day before."""
    elapsed = (today - started_on).days + 1
    days = min(max(elapsed, ACTION_WINDOW_MIN_DAYS), ACTION_WINDOW_MAX_DAYS)
    return Windows(
        days, started_on - timedelta(days=days), started_on, started_on + timedelta(days=days - 1)
    )


def corrective_action_figures(actions, today):
    """Each action (CorrectiveAction with its reason loaded) with its reason's share of the
    losses, by count and by money, before and after it started, in one query: the windows'
    edges cut time into pieces, the losses of each piece are counted and summed by reason (a
    UNION ALL of one GROUP BY per piece, each a range of serviceloss_kpi_idx), and each
    window adds up its pieces."""
    if not actions:
        return []
    windows = {action.pk: action_windows(action.started_on, today) for action in actions}
    spans = [span for window in windows.values() for span in window.spans]
    return _action_figures(actions, windows, _lost(spans), today)


def _action_figures(actions, windows, lost, today):
    figures = []
    for action in actions:
        window = windows[action.pk]
        shares = {}
        for side, span in zip(("before", "after"), window.spans, strict=True):
            lost_all, count_all = lost.sums(*span)
            lost_reason, count_reason = lost.sums(*span, key=action.reason_id)
            shares[side] = (count_all, count_reason, lost_all, lost_reason)
        before_all, before_reason, before_lost, before_reason_lost = shares["before"]
        after_all, after_reason, after_lost, after_reason_lost = shares["after"]
        before_count_share = percent(before_reason, before_all)
        after_count_share = percent(after_reason, after_all)
        before_money_share = percent(before_reason_lost, before_lost)
        after_money_share = percent(after_reason_lost, after_lost)
        figures.append(
            ActionFigures(
                action_id=action.pk,
                action=action.action,
                reason_id=action.reason_id,
                reason_label=action.reason.label,
                started_on=action.started_on,
                window_days=window.days,
                before_start=window.before_start,
                before_end=action.started_on - timedelta(days=1),
                after_start=action.started_on,
                after_end=window.after_end,
                complete=window.after_end <= today,
                days_observed=max(0, min((today - action.started_on).days + 1, window.days)),
                before_losses=before_all,
                before_reason_losses=before_reason,
                after_losses=after_all,
                after_reason_losses=after_reason,
                before_lost=before_lost,
                before_reason_lost=before_reason_lost,
                after_lost=after_lost,
                after_reason_lost=after_reason_lost,
                before_count_share=before_count_share,
                after_count_share=after_count_share,
                count_share_change=_points(after_count_share, before_count_share),
                before_money_share=before_money_share,
                after_money_share=after_money_share,
                money_share_change=_points(after_money_share, before_money_share),
            )
        )
    return figures
