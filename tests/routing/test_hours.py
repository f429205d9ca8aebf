"""First-response deadlines count only the minutes the dealership is open."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.hours import business_deadline

NEW_YORK = ZoneInfo("America/New_York")
# Weekdays 09:00–18:00, Saturday 09:00–13:00, Sunday closed.
HOURS = {day: (time(9), time(18)) for day in range(5)} | {5: (time(9), time(13))}
ALWAYS_OPEN = {day: (time(0), time(23, 59)) for day in range(7)}


def local(day, hour, minute=0):
    """New York time in the week of Monday 5 January 2026 (day 0), day 7 the next Monday."""
    return datetime(2026, 1, 5, hour, minute, tzinfo=NEW_YORK) + timedelta(days=day)


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        pytest.param(local(0, 10), 5, local(0, 10, 5), id="within-the-open-day"),
        pytest.param(local(0, 17, 55), 5, local(0, 18), id="due-exactly-at-closing"),
        pytest.param(local(0, 7, 30), 5, local(0, 9, 5), id="before-opening"),
        pytest.param(local(0, 9), 5, local(0, 9, 5), id="at-opening"),
        pytest.param(local(0, 21), 5, local(1, 9, 5), id="after-closing"),
        pytest.param(local(0, 18), 5, local(1, 9, 5), id="at-closing"),
        pytest.param(local(0, 17, 58), 5, local(1, 9, 3), id="spanning-closing"),
        pytest.param(local(4, 23, 50), 5, local(5, 9, 5), id="friday-night-to-saturday"),
        pytest.param(local(5, 12, 58), 5, local(7, 9, 3), id="over-a-closed-sunday"),
        pytest.param(local(6, 11), 5, local(7, 9, 5), id="arriving-on-a-closed-sunday"),
        pytest.param(local(0, 9), 2 * 540 + 5, local(2, 9, 5), id="over-two-whole-days"),
    ],
)
def test_deadline_counts_only_open_minutes(start, minutes, due):
    assert business_deadline(start, minutes, HOURS, NEW_YORK) == due


def test_a_start_in_utc_is_read_in_the_dealerships_time_zone():
    # 02:00 UTC on Tuesday is 21:00 on Monday in New York: after closing.
    start = datetime(2026, 1, 6, 2, 0, tzinfo=UTC)

    assert business_deadline(start, 5, HOURS, NEW_YORK) == local(1, 9, 5)


@pytest.mark.parametrize("hours", [{}, None])
def test_without_opening_hours_every_minute_counts(hours):
    assert business_deadline(local(6, 23), 5, hours, NEW_YORK) == local(6, 23, 5)


def test_hours_that_are_nearly_always_closed_let_the_clock_run_as_if_open():
    one_minute_on_mondays = {0: (time(9), time(9, 1))}

    due = business_deadline(local(0, 10), 120, one_minute_on_mondays, NEW_YORK)

    assert due == local(0, 12)


def test_a_deadline_over_the_spring_change_is_at_opening_in_summer_time():
    # Clocks go forward on Sunday 8 March 2026; Monday opens at 09:00 EDT, 13:00 UTC.
    saturday_before_closing = datetime(2026, 3, 7, 12, 58, tzinfo=NEW_YORK)

    due = business_deadline(saturday_before_closing, 5, HOURS, NEW_YORK)

    assert due == datetime(2026, 3, 9, 13, 3, tzinfo=UTC)


def test_an_hour_of_open_time_across_the_autumn_change_is_one_real_hour():
    # 01:30 EDT on Sunday 1 November 2026; at 02:00 EDT clocks go back to 01:00 EST, so an hour
    # later it is 01:30 again, in EST.
    start = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)

    due = business_deadline(start, 60, ALWAYS_OPEN, NEW_YORK)

    # In UTC: a time in the repeated hour never equals a time of another zone (PEP 495).
    assert due.astimezone(UTC) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_an_hour_of_open_time_across_the_spring_change_is_one_real_hour():
    # 01:30 EST on Sunday 8 March 2026; an hour later it is 03:30 EDT.
    start = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)

    due = business_deadline(start, 60, ALWAYS_OPEN, NEW_YORK)

    assert due == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert (due.hour, due.minute) == (3, 30)
