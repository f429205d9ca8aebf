"""Every sweep run is kept: when, as of which moment, what it examined and changed, what went
wrong; the next run's window starts where the last successful one ended."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from dealercrm.models import SweepRun
from dealercrm.schedules import SWEEPS, sweep_run

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_run_is_recorded_with_its_window_and_counts():
    first = sweep_run("stale", NOW)
    sweep_run("stale", NOW + timedelta(minutes=10))

    runs = list(SweepRun.objects.filter(name="stale").order_by("started_at"))
    assert [(run.as_of, run.since, run.status) for run in runs] == [
        (NOW, None, "done"),
        (NOW + timedelta(minutes=10), NOW, "done"),
    ]
    assert first == {
        "examined": 0,
        "changed": 0,
        "quiet_7": 0,
        "quiet_14": 0,
        "quiet_21": 0,
        "resurfaced": 0,
        "errors": 0,
    }
    assert runs[0].counts["quiet_7"] == 0
    assert runs[0].finished_at >= runs[0].started_at


@pytest.mark.django_db
def test_a_failed_run_keeps_its_error_and_the_next_window_starts_at_the_last_success(
    monkeypatch,
):
    sweep_run("task-reminders", NOW)

    def broken(now, since=None):
        raise RuntimeError("the mail server is down")

    monkeypatch.setattr("leads.tasks.task_reminders_sweep", broken)
    with pytest.raises(RuntimeError):
        sweep_run("task-reminders", NOW + timedelta(hours=1))
    monkeypatch.undo()
    sweep_run("task-reminders", NOW + timedelta(hours=2))

    failed = SweepRun.objects.get(status="failed")
    assert failed.error.startswith("RuntimeError: the mail server is down (test_sweep_runs.py:")
    assert failed.errors == 1
    latest = SweepRun.objects.filter(status="done").order_by("-as_of").first()
    assert latest.since == NOW


@pytest.mark.django_db
def test_a_run_a_stopped_worker_left_running_is_marked_failed():
    an_hour_ago = timezone.now() - timedelta(hours=1)  # the cluster's timeout is 5 minutes
    stuck = SweepRun.objects.create(name="stale", as_of=NOW, started_at=an_hour_ago)

    sweep_run("stale", NOW)

    stuck.refresh_from_db()
    assert (stuck.status, stuck.error) == (
        "failed",
        "Did not finish: the worker running it was stopped.",
    )


@pytest.mark.django_db
def test_runs_older_than_two_weeks_are_pruned():
    old = SweepRun.objects.create(
        name="stale", as_of=NOW, started_at=datetime(2020, 1, 1, tzinfo=UTC), status="done"
    )
    other = SweepRun.objects.create(
        name="recycle", as_of=NOW, started_at=datetime(2020, 1, 1, tzinfo=UTC), status="done"
    )

    sweep_run("stale", NOW)

    assert not SweepRun.objects.filter(pk=old.pk).exists()
    assert SweepRun.objects.filter(pk=other.pk).exists()  # pruned by its own sweep's runs


@pytest.mark.django_db
def test_every_sweep_runs_once_from_the_command_line():
    out = StringIO()

    call_command("run_sweep", "--all", "--now", NOW.isoformat(), stdout=out)

    printed = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["sweep"] for line in printed] == [sweep.name for sweep in SWEEPS]
    assert all({"examined", "changed", "errors"} <= set(line) for line in printed)
    assert SweepRun.objects.filter(status="done").count() == len(SWEEPS)


@pytest.mark.django_db
def test_the_command_names_what_was_wrong():
    with pytest.raises(CommandError, match="Unknown sweep stalee; known: first-response"):
        call_command("run_sweep", "stalee")
    with pytest.raises(CommandError, match="is not an ISO 8601 date and time"):
        call_command("run_sweep", "stale", "--now", "yesterday")
    with pytest.raises(CommandError, match="Name a sweep"):
        call_command("run_sweep")


@pytest.mark.parametrize(
    ("redis_url", "q_broker", "broker"),
    [
        ("", "", "ORM"),
        # A shared Redis cache does not move the queue: a task dies with its worker there.
        ("redis://127.0.0.1:6390/0", "", "ORM"),
        ("redis://127.0.0.1:6390/0", "redis", "Redis"),
    ],
)
def test_the_task_queue_is_the_database_unless_the_redis_broker_is_asked_for(
    redis_url, q_broker, broker
):
    script = (
        "import django; django.setup();"
        "from django_q.brokers import get_broker; print(type(get_broker()).__name__)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dealercrm.settings",
        "REDIS_URL": redis_url,
        "Q_BROKER": q_broker,
    }
    found = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == broker


@pytest.mark.django_db
def test_the_task_queue_keeps_failed_tasks_and_not_successful_ones():
    # django-q2's save_limit 0 would keep every result; -1 keeps none of the successes.
    from django_q.brokers import get_broker
    from django_q.models import Failure, Success
    from django_q.monitor import save_task

    def finished(task_id, success):
        return {
            "id": task_id,
            "name": f"sweep-{task_id}",
            "func": "dealercrm.schedules.sweep_run",
            "args": ("stale",),
            "kwargs": {},
            "started": NOW,
            "stopped": NOW + timedelta(seconds=2),
            "result": None if success else "RuntimeError: the mail server is down",
            "success": success,
            # As a synchronous task: the monitor would otherwise close the test's connection.
            "sync": True,
        }

    save_task(finished("a" * 32, success=True), get_broker())
    save_task(finished("b" * 32, success=False), get_broker())

    assert Success.objects.count() == 0
    assert list(Failure.objects.values_list("name", "result")) == [
        ("sweep-" + "b" * 32, "RuntimeError: the mail server is down")
    ]
