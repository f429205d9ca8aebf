"""The scheduled work page: every declared sweep with its schedule, how its last run went and
its latest runs, for the managers who answer for what the sweeps do."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dealercrm.models import Role, SweepRun
from dealercrm.schedules import SWEEPS, sweep_run
from dealercrm.selectors import schedule_text
from tests.factories import make_staff

PAGE = "/sweeps/"
# A morning after the reminder hour (8 by default), so the reminder sweep does its work.
MORNING = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)


def block(html, name):
    """The page's section of the sweep `name`, as HTML."""
    start = html.index(f'id="sweep-{name}"')
    return html[start : html.index("</section>", start)]


@pytest.mark.django_db
def test_a_salesperson_may_not_see_the_scheduled_work(client, salesperson):
    client.force_login(salesperson)

    assert client.get(PAGE).status_code == 403


@pytest.mark.django_db
def test_someone_logged_out_is_sent_to_log_in(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={PAGE}"


@pytest.mark.django_db
def test_a_service_manager_sees_the_scheduled_work_but_not_the_lead_settings(client):
    manager = make_staff(Role.SERVICE_MANAGER, None, username="sid", first_name="Sid")
    client.force_login(manager)

    response = client.get(PAGE)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="/sweeps/">Scheduled work' in html
    assert "/leads/lifecycle-settings/" not in html
    assert "/leads/comebacks/" not in html


def test_the_page_shows_the_runs_a_sweep_recorded(
    client, bdc_manager, salesperson, django_assert_num_queries
):
    earlier = sweep_run("task-reminders", MORNING)
    later_as_of = MORNING + timedelta(hours=1)
    later = sweep_run("task-reminders", later_as_of)
    client.force_login(bdc_manager)

    # 1 session, 2 user, 3 user permissions, 4 group permissions (the page and the menu share
    # them), 5 the latest runs of every sweep, in one UNION ALL of one LIMITed branch per sweep.
    with django_assert_num_queries(5):
        response = client.get(PAGE)

    history = response.context["history"]
    assert [item.sweep.name for item in history] == [sweep.name for sweep in SWEEPS]
    reminders = next(item for item in history if item.sweep.name == "task-reminders")
    runs = reminders.runs
    assert [run.as_of for run in runs] == [later_as_of, MORNING]
    assert [(run.examined, run.changed, run.status) for run in runs] == [
        (later["examined"], later["changed"], "done"),
        (earlier["examined"], earlier["changed"], "done"),
    ]
    assert earlier["examined"] == 2  # the salesperson and the manager, reminded once a day
    assert runs[0].count_pairs == [("reminded", 0)]
    assert runs[0].since == MORNING
    assert reminders.last == runs[0]
    html = response.content.decode()
    section = block(html, "task-reminders")
    assert "<small>hourly</small>" in section
    assert "remind every salesperson of the tasks due today" in section
    assert 'Last run: <span class="status status-done">Done</span>' in section
    assert f"{timezone.localtime(later_as_of):%b %-d, %H:%M:%S}" in section
    assert "reminded <strong>0</strong>" in section
    assert "0 examined · 0 changed" in section
    assert "Not run yet." in block(html, "stale")
    assert "<small>every 10 min</small>" in block(html, "stale")
    assert "<small>weekly</small>" in block(html, "archive")
    assert "<small>every minute</small>" in block(html, "first-response")
    assert 'href="/leads/lifecycle-settings/"' in html


def test_a_failed_run_shows_its_error(client, bdc_manager):
    SweepRun.objects.create(
        name="stale",
        as_of=MORNING,
        started_at=MORNING,
        finished_at=MORNING + timedelta(seconds=2.5),
        status=SweepRun.Status.FAILED,
        errors=1,
        error="OperationalError: database is locked (resurfacing.py:231)",
    )
    client.force_login(bdc_manager)

    response = client.get(PAGE)

    section = block(response.content.decode(), "stale")
    assert 'Last run: <span class="status status-failed">Failed</span>' in section
    assert "2.50 s" in section
    assert '<strong class="late">1 error</strong>' in section
    assert "<pre>OperationalError: database is locked (resurfacing.py:231)</pre>" in section
    assert "<details open>" in section


def test_a_run_stopped_midway_reads_as_not_finished(client, bdc_manager):
    SweepRun.objects.create(
        name="recycle",
        as_of=MORNING,
        started_at=MORNING,
        status=SweepRun.Status.FAILED,
        errors=1,
        error="Did not finish: the worker running it was stopped.",
    )
    client.force_login(bdc_manager)

    section = block(client.get(PAGE).content.decode(), "recycle")

    assert "· did not finish" in section
    assert "still running" not in section
    assert "<pre>Did not finish: the worker running it was stopped.</pre>" in section


def test_each_sweep_shows_its_latest_twenty_runs_newest_first(
    client, bdc_manager, django_assert_num_queries
):
    def runs(name, count):
        return [
            SweepRun(
                name=name,
                as_of=MORNING + timedelta(minutes=minute),
                started_at=MORNING + timedelta(minutes=minute),
                finished_at=MORNING + timedelta(minutes=minute, seconds=1),
                status=SweepRun.Status.DONE,
                examined=minute,
                counts={"warned": minute, "rotated": 0},
            )
            for minute in range(count)
        ]

    SweepRun.objects.bulk_create(runs("first-response", 25) + runs("stale", 3))
    client.force_login(bdc_manager)

    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 the latest runs.
    with django_assert_num_queries(5):
        response = client.get(PAGE)

    by_name = {item.sweep.name: item.runs for item in response.context["history"]}
    assert [run.examined for run in by_name["first-response"]] == list(range(24, 4, -1))
    assert [run.examined for run in by_name["stale"]] == [2, 1, 0]
    assert by_name["first-response"][0].count_pairs == [("warned", 24), ("rotated", 0)]
    assert by_name["archive"] == []
    assert "warned <strong>24</strong>, rotated <strong>0</strong>" in block(
        response.content.decode(), "first-response"
    )


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (1, "every minute"),
        (10, "every 10 min"),
        (60, "hourly"),
        (120, "every 2 hours"),
        (24 * 60, "daily"),
        (7 * 24 * 60, "weekly"),
        (90, "every 90 min"),
    ],
)
def test_a_schedule_reads_in_words(minutes, words):
    assert schedule_text(minutes) == words
