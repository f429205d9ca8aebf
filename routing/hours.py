"""Business time: a first-response deadline counts only the hours the dealership is open, so a
lead that arrives at 21:00 is due a few minutes after opening, not at 21:05. Pure."""

from datetime import UTC, datetime, timedelta

# A deadline further away than this many days means the opening hours are nearly all closed;
# the clock then runs as if always open rather than never.
SEARCH_DAYS = 14


def business_deadline(start, minutes, hours, tz):
    """When `minutes` of open time have passed since `start` (aware).

    `hours` is {weekday (0 = Monday): (opens, closes)} in the time zone `tz`; a weekday without
    an entry is closed. With no hours at all, every minute counts.
    """
    budget = timedelta(minutes=minutes)
    if not hours:
        return start + budget
    # Count in UTC: arithmetic between two datetimes of one zone is wall-clock arithmetic, which
    # would gain or lose the hour a daylight saving change adds or removes.
    moment = start.astimezone(UTC)
    day = start.astimezone(tz).date()
    for _ in range(SEARCH_DAYS + 1):
        window = hours.get(day.weekday())
        if window is not None:
            opens = datetime.combine(day, window[0], tzinfo=tz).astimezone(UTC)
            closes = datetime.combine(day, window[1], tzinfo=tz).astimezone(UTC)
            moment = max(moment, opens)
            if moment < closes:
                if moment + budget <= closes:
                    return (moment + budget).astimezone(tz)
                budget -= closes - moment
        day += timedelta(days=1)
    return start + timedelta(minutes=minutes)
