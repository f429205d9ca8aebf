"""The first-response SLA: the owner is warned, a missed lead rotates to the next candidate and
the manager hears of it, and after the rule's rotations it goes to the pool. Clock-controlled:
every sweep runs at a given `now`."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from dealercrm.models import Notification
from leads.intake import lead_intake
from leads.models import Lead, LeadEvent
from leads.services import activity_log
from leads.submission import Submission
from leads.tasks import first_response_sweep
from routing.models import Strategy
from routing.services import rule_create

ARRIVED = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # a Wednesday, open 8:00-20:00
DUE = ARRIVED + timedelta(minutes=5)


@pytest.fixture
def lead(sellers, bdc_manager):
    rule_create(
        by=bdc_manager,
        name="Web",
        strategy=Strategy.ROUND_ROBIN,
        members=sellers,
        max_rotations=2,
        fallback_manager=bdc_manager,
    )
    submission = Submission(source="website", first_name="Maria", emails=("maria@example.net",))
    return lead_intake(submission, at=ARRIVED).lead


def sweep(at):
    return first_response_sweep(now=at)


def test_the_owner_is_warned_two_minutes_before_the_deadline_once(lead, sellers):
    assert sweep(DUE - timedelta(minutes=3))["warned"] == 0

    assert sweep(DUE - timedelta(minutes=2))["warned"] == 1
    assert sweep(DUE - timedelta(minutes=1))["warned"] == 0

    warning = Notification.objects.get(kind="first_response_due")
    assert warning.recipient == sellers[0]
    assert warning.message == (
        "Call Maria now: the first response is due at 10:05, then the lead goes to the next person."
    )


@pytest.mark.parametrize(
    ("minutes_after_arrival", "rotated"), [(4, 0), (5, 1), (6, 1)], ids=["4", "5", "6"]
)
def test_the_lead_rotates_once_its_deadline_has_passed(lead, minutes_after_arrival, rotated):
    result = sweep(ARRIVED + timedelta(minutes=minutes_after_arrival))

    assert result["rotated"] == rotated


def test_a_missed_lead_goes_to_the_next_candidate_with_both_names_in_its_history(
    lead, sellers, bdc_manager
):
    ann, ben, _ = sellers
    missed_at = DUE + timedelta(minutes=7)

    assert sweep(missed_at) == {
        "examined": 1, "changed": 1, "warned": 0, "rotated": 1, "to_pool": 0, "alerted": 0
    }  # fmt: skip

    lead.refresh_from_db()
    assert lead.owner == ben
    assert lead.routing["kind"] == "rotated"
    assert lead.routing["rotation"] == 1
    assert lead.first_response_due_at == missed_at + timedelta(minutes=5)
    rotation = lead.events.filter(kind=LeadEvent.Kind.ASSIGNED).last()
    assert rotation.from_owner == ann
    assert rotation.to_owner == ben
    assert rotation.actor_label == "routing:first-response"
    assert rotation.note.startswith(
        "First response missed by 7 min (Ann Seller); rotated to the next candidate, "
        "Ben Seller. Rule 'Web' → round robin: Ben Seller's turn among 2 available"
    )
    assert "Ann Seller missed its first response" in rotation.note
    alert = Notification.objects.get(kind="first_response_missed")
    assert alert.recipient == bdc_manager
    assert alert.message == rotation.note[:300]
    # Ann heard of the lead when it arrived; Ben hears of it now.
    assert [n.recipient for n in Notification.objects.filter(kind="assigned")] == [ben, ann]


def test_running_the_sweep_twice_at_the_same_moment_changes_nothing_the_second_time(lead):
    at = DUE + timedelta(minutes=1)
    sweep(at)
    events = LeadEvent.objects.count()
    notifications = Notification.objects.count()

    assert sweep(at) == {
        "examined": 0,
        "changed": 0,
        "warned": 0,
        "rotated": 0,
        "to_pool": 0,
        "alerted": 0,
    }
    assert LeadEvent.objects.count() == events
    assert Notification.objects.count() == notifications


def test_after_the_rules_rotations_the_lead_goes_to_the_pool_and_the_manager(
    lead, sellers, bdc_manager, sales_team
):
    first_miss = DUE + timedelta(minutes=1)
    sweep(first_miss)
    second_miss = first_miss + timedelta(minutes=6)
    sweep(second_miss)
    lead.refresh_from_db()
    assert lead.owner == sellers[2]  # never back to someone who missed it

    third_miss = second_miss + timedelta(minutes=6)
    assert sweep(third_miss)["to_pool"] == 1

    lead.refresh_from_db()
    assert lead.owner is None
    assert lead.team == sales_team
    assert lead.first_response_due_at is None
    assert lead.routing["kind"] == "to_pool"
    assert lead.routing["explanation"] == (
        "First response missed by 1 min (Cat Seller); after 2 rotations the lead waits in the "
        "New cars pool and the managers are told."
    )
    assert (
        Notification.objects.filter(kind="first_response_missed", recipient=bdc_manager).count()
        == 3
    )
    assert sweep(third_miss + timedelta(hours=1))["examined"] == 0


def test_a_contacted_lead_is_never_rotated(lead, sellers):
    activity_log(lead=lead, kind="call", by=sellers[0], occurred_at=DUE - timedelta(minutes=1))

    assert sweep(DUE + timedelta(minutes=30))["examined"] == 0
    lead.refresh_from_db()
    assert lead.owner == sellers[0]


def test_the_deadline_counts_only_opening_hours(sellers, bdc_manager):
    rule_create(by=bdc_manager, name="Web", strategy=Strategy.ROUND_ROBIN, members=sellers)
    evening = datetime(2026, 11, 18, 19, 58, tzinfo=UTC)  # two minutes before closing

    lead = lead_intake(Submission(source="website", emails=("late@example.net",)), at=evening).lead

    assert lead.first_response_due_at == datetime(2026, 11, 19, 8, 3, tzinfo=UTC)
    assert sweep(datetime(2026, 11, 18, 23, 0, tzinfo=UTC))["rotated"] == 0


def test_a_pool_lead_nobody_claims_alerts_the_managers_once(db, bdc_manager):
    lead = lead_intake(Submission(source="website", emails=("pool@example.net",)), at=ARRIVED).lead
    assert lead.owner is None

    assert sweep(DUE)["alerted"] == 1
    assert sweep(DUE + timedelta(minutes=1))["alerted"] == 0

    alert = Notification.objects.get(kind="first_response_missed")
    assert alert.recipient == bdc_manager
    assert lead.events.filter(kind=LeadEvent.Kind.RESPONSE_MISSED).count() == 1


def test_the_sweep_runs_once_from_the_command_line(lead, capsys):
    call_command("run_sweep", "first-response", "--now", (DUE + timedelta(minutes=1)).isoformat())

    assert '"rotated": 1' in capsys.readouterr().out
    assert Lead.objects.get(pk=lead.pk).routing["kind"] == "rotated"


def test_schedules_are_synced_idempotently(db):
    from django_q.models import Schedule

    call_command("sync_schedules")
    call_command("sync_schedules")

    first_response = Schedule.objects.get(name="first-response")
    assert (first_response.func, first_response.args) == (
        "dealercrm.schedules.sweep_run",
        "'first-response'",
    )
    assert first_response.minutes == 1
    assert sorted(Schedule.objects.values_list("name", flat=True)) == [
        "archive",
        "first-response",
        "reactivation",
        "recycle",
        "response-times",
        "service-recapture",
        "stale",
        "task-reminders",
    ]
