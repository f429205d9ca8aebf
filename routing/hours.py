"""Business time: a first-response deadline counts only the hours the dealership is open, so a
lead that arrives at 21:00 is due a few minutes after opening, not at 21:05. Pure."""

from datetime import datetime, time, timedelta

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
    moment = start.astimezone(tz)
    for _ in range(SEARCH_DAYS + 1):
        day = moment.date()
        window = hours.get(day.weekday())
        if window is not None:
            opens = datetime.combine(day, window[0], tzinfo=tz)
            closes = datetime.combine(day, window[1], tzinfo=tz)
            moment = max(moment, opens)
            if moment < closes:
                if moment + budget <= closes:
                    return moment + budget
                budget -= closes - moment
        moment = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start + timedelta(minutes=minutes)
