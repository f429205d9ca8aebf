"""Periods of whole days in the dealership's time zone, as the reports take them, and the one way
percentages are written in them.

A period runs from midnight of its first day (settings.TIME_ZONE) to midnight after its last, so
"September" means what the people at the dealership mean by it.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

# The longest period a report takes: the by-month figures stay readable and the queries stay
# bounded.
MAX_PERIOD_YEARS = 3
# The days that a report or a date filter takes. Dates near the ends of the calendar (year 1,
# year 9999) cannot be shifted by a day or a time zone, so they are refused up front.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


def midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class Period:
    """Whole days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self):
        return (self.end - self.start).days + 1

    @property
    def since(self):
        return midnight(self.start)

    @property
    def until(self):
        """Midnight after the last day: the period is `since <= t < until`."""
        return midnight(self.end + timedelta(days=1))

    def before(self):
        """The same number of days just before this period."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def first_of_month(day, months_back=0):
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def default_period(today):
    """The last 12 months up to today: from the first of the month eleven months ago, so that
    the by-month figures are twelve calendar months, the last one running to today."""
    return Period(first_of_month(today, 11), today)


def latest_end(start):
    """The last day a period starting on `start` may end on: MAX_PERIOD_YEARS later, less a
    day."""
    year = start.year + MAX_PERIOD_YEARS
    try:
        later = start.replace(year=year)
    except ValueError:  # February 29 in a year without one
        later = date(year, 3, 1)
    return later - timedelta(days=1)


def period_refusal(start, end):
    """Why `start`–`end` is not a period the reports take, in words; "" when it is."""
    if start < EARLIEST_DAY or end > LATEST_DAY:
        return f"Periods lie between {EARLIEST_DAY:%b %-d, %Y} and {LATEST_DAY:%b %-d, %Y}."
    if end < start:
        return f"The period ends ({end:%b %-d, %Y}) before it starts ({start:%b %-d, %Y})."
    if end > latest_end(start):
        return (
            f"The period is longer than {MAX_PERIOD_YEARS} years; a period starting on "
            f"{start:%b %-d, %Y} ends on {latest_end(start):%b %-d, %Y} at the latest."
        )
    return ""


def percent(part, whole, places=1):
    """`part` as a percentage of `whole`, rounded half up to `places` decimal places; None when
    `whole` is zero."""
    if not whole:
        return None
    step = Decimal(1).scaleb(-places)
    return (Decimal(part) * 100 / Decimal(whole)).quantize(step, ROUND_HALF_UP)
