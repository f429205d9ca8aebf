"""The weekly archive of long-term newcomers (recoverable) and the morning reminder of the day's
tasks. Clock-controlled."""

from datetime import UTC, datetime, timedelta

import pytest

from dealercrm.models import Notification
from dealercrm.schedules import sweep_run
from leads.models import FollowUpTask, Lead, LeadEvent, LeadStatus
from leads.services import (
    activity_log,
    lead_assign,
    lead_change_status,
    lead_create,
    lead_reopen,
)
from leads.tasks import archive_sweep, reactivation_sweep, task_reminders_sweep
from tests.factories import CustomerFactory, browse, make_lead

WORKED = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)


def newcomer(owner, horizon="later", contacted=True):
    lead = lead_create(
        customer=CustomerFactory(),
        source="website",
        channel="web_form",
        by="test",
        at=WORKED,
        purchase_horizon=horizon,
    )
    lead_assign(lead=lead, owner=owner, by="test", at=WORKED)
    if contacted:
        activity_log(lead=lead, kind="call", by=owner, occurred_at=WORKED)
    return Lead.objects.get(pk=lead.pk)


def after(days):
    return WORKED + timedelta(days=days)


@pytest.mark.django_db
@pytest.mark.parametrize(("days", "archived"), [(29, False), (30, True), (31, True)])
def test_a_newcomer_buying_later_is_archived_after_30_quiet_days(salesperson, days, archived):
    lead = newcomer(salesperson)

    result = archive_sweep(now=after(days))

    assert result["archived"] == int(archived)
    lead.refresh_from_db()
    if archived:
        assert (lead.status, lead.close_reason.code) == (LeadStatus.LOST, "archived")
        event = lead.events.last()
        assert event.actor_label == "sweep:archive"
        assert event.note == (
            "Buying later than 6 months; no CRM activity since Sep 1. Return it to work when "
            "the customer is ready."
        )
    else:
        assert lead.status == LeadStatus.CONTACTED


@pytest.mark.django_db
@pytest.mark.parametrize("horizon", ["within_month", "within_3_months", ""])
def test_target_customers_and_unknown_horizons_are_kept(salesperson, horizon):
    newcomer(salesperson, horizon=horizon)

    assert archive_sweep(now=after(60))["archived"] == 0


@pytest.mark.django_db
def test_a_qualified_lead_is_no_newcomer(salesperson):
    lead = newcomer(salesperson, horizon="within_6_months")
    lead_change_status(lead=lead, to_status="qualified", by=salesperson, at=after(1))

    assert archive_sweep(now=after(60))["archived"] == 0


@pytest.mark.django_db
def test_the_weekly_runs_archive_each_lead_once(salesperson):
    newcomer(salesperson)
    newcomer(salesperson, contacted=False)

    runs = [sweep_run("archive", after(days))["archived"] for days in (28, 35, 42)]

    assert runs == [0, 2, 0]


@pytest.mark.django_db
def test_an_archived_lead_is_recoverable_by_a_person_and_by_the_customer(salesperson):
    by_hand = newcomer(salesperson)
    by_customer = newcomer(salesperson)
    archive_sweep(now=after(30))

    lead_reopen(lead=by_hand, cause=LeadEvent.ReopenCause.PERSON, by=salesperson)
    browse(by_customer.customer, after(40))
    reactivation_sweep(now=after(40) + timedelta(hours=1))

    assert Lead.objects.get(pk=by_hand.pk).status == LeadStatus.CONTACTED
    assert Lead.objects.get(pk=by_customer.pk).status == LeadStatus.CONTACTED


# --- the morning reminder -----------------------------------------------------------------------

MORNING = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # the reminder hour, 8:00 in UTC


def tasks_for(person, overdue, today):
    lead = make_lead("contacted", owner=person)
    FollowUpTask.objects.filter(lead=lead).delete()
    for n in range(overdue):
        FollowUpTask.objects.create(
            lead=lead,
            assignee=person,
            title="Call",
            due_on=MORNING.date() - timedelta(days=n + 1),
            created_at=MORNING,
        )
    for kind in today:
        FollowUpTask.objects.create(
            lead=lead, assignee=person, kind=kind, title="Today", due_on=MORNING.date(),
            created_at=MORNING,
        )  # fmt: skip


@pytest.mark.django_db
def test_each_person_is_reminded_of_the_day_once(salesperson, other_salesperson, bdc_manager):
    tasks_for(salesperson, overdue=2, today=["follow_up", "appointment"])
    tasks_for(other_salesperson, overdue=0, today=["follow_up"])

    result = task_reminders_sweep(now=MORNING)
    again = task_reminders_sweep(now=MORNING + timedelta(hours=1))

    assert (result["reminded"], again["reminded"], again["examined"]) == (2, 0, 0)
    messages = dict(
        Notification.objects.filter(kind="tasks_due").values_list("recipient", "message")
    )
    assert messages == {
        salesperson.pk: "Good morning: 2 tasks due today (1 appointment) and 2 overdue since "
        "Nov 18.",
        other_salesperson.pk: "Good morning: 1 task due today.",
    }
    assert task_reminders_sweep(now=MORNING + timedelta(days=1))["reminded"] == 2


@pytest.mark.django_db
def test_nobody_is_reminded_before_the_reminder_hour(salesperson):
    tasks_for(salesperson, overdue=1, today=[])

    assert task_reminders_sweep(now=MORNING - timedelta(minutes=1))["reminded"] == 0
    assert task_reminders_sweep(now=MORNING)["reminded"] == 1
