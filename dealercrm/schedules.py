"""The scheduled work, declared in code: django-q2 runs each function on its schedule, and
`manage.py sync_schedules` (run by `make run`) makes the database say the same, by name.

Functions are named by their dotted path, so this core module imports no app above it. Each
takes an optional `now` (ISO 8601) and returns a dict of counts; `manage.py run_sweep NAME`
runs one once.
"""

from dataclasses import dataclass


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
]
SWEEPS_BY_NAME = {sweep.name: sweep for sweep in SWEEPS}


def schedules_sync():
    """Create or update one django-q2 schedule per sweep, by name, and remove schedules of
    sweeps no longer declared. Idempotent. Returns (created, updated, removed) counts."""
    from django_q.models import Schedule

    created = updated = 0
    for sweep in SWEEPS:
        schedule, made = Schedule.objects.get_or_create(
            name=sweep.name,
            defaults={
                "func": sweep.func,
                "schedule_type": Schedule.MINUTES,
                "minutes": sweep.minutes,
                "repeats": -1,
            },
        )
        if made:
            created += 1
        elif (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) != (
            sweep.func,
            Schedule.MINUTES,
            sweep.minutes,
            -1,
        ):
            schedule.func = sweep.func
            schedule.schedule_type = Schedule.MINUTES
            schedule.minutes = sweep.minutes
            schedule.repeats = -1
            schedule.save()
            updated += 1
    removed, _ = Schedule.objects.exclude(name__in=list(SWEEPS_BY_NAME)).delete()
    return created, updated, removed
