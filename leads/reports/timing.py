"""Conversion timing: how many days after the lead customers buy, in the windows the field knows
(the average purchase comes about 12 days after the lead; days 8–19 are the sweet spot, 20–45
still sell, after 45 days sales are a trickle, so a follow-up process covers 45 days: DESIGN.md),
and the days of the week and of the month they buy on.

What is counted: the sales made in the period, that is the leads with status `sold` whose
`closed_at` (the sale; a sale is final) falls in the period's days, from the source, of the team
and owned by the person the filters name. The lead itself may have come in before the period:
the report dates a sale by the sale, not by the lead.

Days from lead to sale are the dealership's calendar days (settings.TIME_ZONE) from the day the
lead was created to the day of the sale: the same day is day 0, and a lead that came in at 23:30
and bought the next morning bought on day 1, although not 24 hours passed. The day of the week
and the day of the month are the sale's, in the same time zone. Because a period has more of
some days than of others (five Saturdays in one month, a 31st in seven months of twelve), those
tables also give the number of such days in the period, up to today, and the sales per such day.

Three queries, each a GROUP BY over the sales of the period found through
`lead_status_closed_idx` (status, closed_at): the totals with the median and the average, the
sales by day of the week, and by day of the month. No names to look up.
"""

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, Q
from django.db.models.functions import ExtractDay, ExtractIsoWeekDay, TruncDate

from dealercrm.aggregates import Median
from leads.models import Lead, LeadStatus
from leads.reports.base import Chart, Column, Figure, Kind, Report, Table, ratio, share

KEY = "timing"
TITLE = "Conversion timing"
SUMMARY = "Days from lead to sale, and the days of the week and month customers buy on."

# The field's figure the page compares with (DESIGN.md).
FIELD_AVERAGE_DAYS = Decimal("12")

# The field's windows, as the last day from lead to sale each includes (None: no end).
WINDOWS = [
    ("days_0_7", "0–7 days", 7),
    ("days_8_19", "8–19 days (the sweet spot)", 19),
    ("days_20_45", "20–45 days", 45),
    ("after_45", "After 45 days", None),
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_ONE_DAY = timedelta(days=1)


def _sales(filters):
    """The sales of the period, each with its days from lead to sale.

    Subtracting the two calendar days gives a duration of whole days on both databases
    (PostgreSQL: `interval '1 day' * (date - date)`; SQLite: microseconds between the two
    dates), so the windows compare it with whole days and the median and the average stay
    whole or half days."""
    period = filters.period
    return (
        Lead.objects.filter(
            filters.group_filter(),
            status=LeadStatus.SOLD,
            closed_at__gte=period.since,
            closed_at__lt=period.until,
        )
        .annotate(days_to_sale=TruncDate("closed_at") - TruncDate("created_at"))
        .order_by()
    )


def _window_counts():
    counts = {"sales": Count("pk")}
    after = None
    for key, _, last_day in WINDOWS:
        condition = Q()
        if after is not None:
            condition &= Q(days_to_sale__gt=timedelta(days=after))
        if last_day is not None:
            condition &= Q(days_to_sale__lte=timedelta(days=last_day))
        counts[key] = Count("pk", filter=condition)
        after = last_day
    return counts


def _days(duration):
    """A duration of days as days to one decimal place (a median of an even number of sales
    can fall between two days)."""
    if duration is None:
        return None
    days = Decimal(duration.total_seconds()) / Decimal(86400)
    return days.quantize(Decimal("0.1"), ROUND_HALF_UP)


def _calendar_days(period, today):
    """How many of each weekday (1 = Monday) and of each day of the month the period has, up
    to today: the days on which a sale could have been made."""
    weekdays, month_days = dict.fromkeys(range(1, 8), 0), dict.fromkeys(range(1, 32), 0)
    day, last = period.start, min(period.end, today)
    while day <= last:
        weekdays[day.isoweekday()] += 1
        month_days[day.day] += 1
        day += _ONE_DAY
    return weekdays, month_days


def _by(filters, name, part):
    rows = _sales(filters).annotate(**{name: part}).values(name).annotate(sales=Count("pk"))
    return {row[name]: row["sales"] for row in rows}


def _day_rows(labels, sales_by_day, calendar, total):
    return [
        {
            "key": day,
            "label": label,
            "sales": sales_by_day.get(day, 0),
            "share": share(sales_by_day.get(day, 0), total),
            "days": calendar[day],
            "per_day": ratio(sales_by_day.get(day, 0), calendar[day]),
        }
        for day, label in labels
    ]


DAY_COLUMNS = [
    Column("sales", "Sales"),
    Column("share", "Share of sales", Kind.PERCENT),
    Column("days", "Days in the period", help="Up to today: the days a sale could be made on."),
    Column("per_day", "Sales per such day", Kind.NUMBER),
]


def build(filters, today):
    totals = _sales(filters).aggregate(
        **_window_counts(),
        median=Median("days_to_sale"),
        average=Avg("days_to_sale"),
    )
    by_weekday = _by(filters, "weekday", ExtractIsoWeekDay("closed_at"))
    by_month_day = _by(filters, "month_day", ExtractDay("closed_at"))

    sales = totals["sales"]
    after_day_7 = sales - totals["days_0_7"]
    within_45 = sales - totals["after_45"]
    weekdays, month_days = _calendar_days(filters.period, today)

    figures = [
        Figure("sales", "Sales", sales, Kind.COUNT),
        Figure(
            "median_days",
            "Median days from lead to sale",
            _days(totals["median"]),
            Kind.DAYS,
            help="Half the sales came sooner, half later.",
        ),
        Figure(
            "average_days",
            "Average days from lead to sale",
            _days(totals["average"]),
            Kind.DAYS,
            benchmark=FIELD_AVERAGE_DAYS,
            benchmark_text="The field: the average purchase comes about 12 days after the lead.",
        ),
        Figure(
            "after_day_7",
            "Sold after day 7",
            share(after_day_7, sales),
            help="The sales a follow-up that stops after the first week would miss.",
        ),
        Figure(
            "within_45_days",
            "Sold within 45 days",
            share(within_45, sales),
            help="What a 45-day follow-up process covers.",
        ),
    ]
    sold_by_then = 0
    window_rows = []
    for key, label, _ in WINDOWS:
        sold_by_then += totals[key]
        window_rows.append(
            {
                "key": key,
                "label": label,
                "sales": totals[key],
                "share": share(totals[key], sales),
                "sold_by_then": share(sold_by_then, sales),
            }
        )
    windows = Table(
        key="windows",
        title="Days from lead to sale",
        columns=[
            Column("label", "Days from lead to sale", Kind.TEXT),
            Column("sales", "Sales"),
            Column("share", "Share of sales", Kind.PERCENT),
            Column("sold_by_then", "Sold by the window's end", Kind.PERCENT),
        ],
        rows=window_rows,
        note="Calendar days from the day the lead came in (day 0) to the day of the sale.",
        chart=Chart(value="share", title="Days from lead to sale (share of sales)"),
    )
    weekday_table = Table(
        key="by_weekday",
        title="By day of the week of the sale",
        columns=[Column("label", "Day of the week", Kind.TEXT), *DAY_COLUMNS],
        rows=_day_rows(enumerate(WEEKDAYS, start=1), by_weekday, weekdays, sales),
        chart=Chart(
            kind="columns",
            value="per_day",
            title="Sales per day, by day of the week",
        ),
    )
    month_day_table = Table(
        key="by_month_day",
        title="By day of the month of the sale",
        columns=[Column("label", "Day of the month", Kind.TEXT), *DAY_COLUMNS],
        rows=_day_rows(((day, str(day)) for day in range(1, 32)), by_month_day, month_days, sales),
        note="Not every month has a 29th, 30th or 31st: compare the sales per such day.",
        chart=Chart(
            kind="columns",
            value="per_day",
            title="Sales per day, by day of the month",
        ),
    )
    return Report(
        key=KEY,
        title=TITLE,
        description=(
            "The sales made in the period (whenever their lead came in): how many days after "
            "the lead the customer bought, counted in calendar days from the day the lead came "
            "in (day 0), and the days customers buy on. The average purchase comes about 12 "
            "days after the lead; days 8–19 are the sweet spot, 20–45 still sell, after 45 "
            "days sales are a trickle: a follow-up process covers 45 days, densest in days "
            "8–19."
        ),
        filters=filters,
        figures=figures,
        tables=[windows, weekday_table, month_day_table],
    )
