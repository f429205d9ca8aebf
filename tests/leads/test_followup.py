"""The 45-day follow-up plan: made when a lead is contacted, from steps managers edit; tasks
follow the lead's owner, close with the lead, and are completed by saying what was done."""

import itertools
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.errors import InvalidActivity, TaskClosed
from leads.followup import followup_steps_set
from leads.models import Activity, FollowUpStep, FollowUpTask
from leads.routing import lead_reassign
from leads.services import activity_log, followup_task_complete, lead_change_status
from tests.factories import make_lead, reason

pytestmark = pytest.mark.django_db
Status = FollowUpTask.Status


def plan_days(lead):
    return list(
        lead.tasks.filter(kind="follow_up").order_by("due_on").values_list("plan_day", flat=True)
    )


def test_the_default_plan_is_daily_then_every_few_days_then_weekly_to_day_45():
    days = list(FollowUpStep.objects.values_list("day", flat=True))

    assert days[:7] == [1, 2, 3, 4, 5, 6, 7]
    middle = [day for day in days if 8 <= day <= 19]
    assert all(later - earlier in (2, 3) for earlier, later in itertools.pairwise(middle))
    late = [day for day in days if day >= 20]
    assert all(later - earlier == 7 for earlier, later in itertools.pairwise(late))
    assert max(days) <= 45


def test_the_first_personal_call_starts_the_plan_for_the_owner(salesperson):
    lead = make_lead(owner=salesperson)
    called = timezone.now()

    activity_log(lead=lead, kind=Activity.Kind.CALL, by=salesperson, occurred_at=called)

    tasks = list(lead.tasks.order_by("due_on"))
    assert len(tasks) == FollowUpStep.objects.count() == 16
    assert {task.assignee for task in tasks} == {salesperson}
    start = timezone.localdate(called)
    assert [task.due_on for task in tasks] == [
        start + timedelta(days=step.day) for step in FollowUpStep.objects.all()
    ]
    assert tasks[0].title == "Call: answer what is left open from the first conversation."


def test_an_automated_message_starts_no_plan(salesperson):
    lead = make_lead(owner=salesperson)

    activity_log(lead=lead, kind=Activity.Kind.EMAIL, by="autoresponder", automated=True)

    assert not lead.tasks.exists()


def test_contacting_again_does_not_pile_up_a_second_plan(salesperson):
    lead = make_lead("contacted", owner=salesperson)

    activity_log(lead=lead, kind=Activity.Kind.CALL, by=salesperson)

    assert lead.tasks.count() == 16


def test_closing_the_lead_cancels_its_open_tasks_and_keeps_the_done_ones(salesperson):
    lead = make_lead("contacted", owner=salesperson)
    first = lead.tasks.order_by("due_on").first()
    followup_task_complete(task=first, by=salesperson, kind=Activity.Kind.CALL, outcome="no_answer")

    lead_change_status(
        lead=lead, to_status="lost", by=salesperson, reason=reason("lost", "bought_elsewhere")
    )

    assert lead.tasks.filter(status=Status.DONE).count() == 1
    assert lead.tasks.filter(status=Status.CANCELLED).count() == 15
    assert set(
        lead.tasks.filter(status=Status.CANCELLED).values_list("closed_note", flat=True)
    ) == {"Lead lost"}


def test_tasks_follow_the_lead_to_its_new_owner(salesperson, other_salesperson, bdc_manager):
    lead = make_lead("contacted", owner=salesperson)

    lead_reassign(lead=lead, owner=other_salesperson, by=bdc_manager, reason="Holiday")

    assert set(lead.tasks.values_list("assignee", flat=True)) == {other_salesperson.pk}


def test_completing_a_task_on_a_closed_lead_is_refused(salesperson):
    lead = make_lead("contacted", owner=salesperson)
    task = lead.tasks.first()
    lead_change_status(
        lead=lead, to_status="lost", by=salesperson, reason=reason("lost", "bought_elsewhere")
    )

    with pytest.raises(TaskClosed):
        followup_task_complete(
            task=task, by=salesperson, kind=Activity.Kind.CALL, outcome="connected"
        )

    assert not Activity.objects.filter(lead=lead, kind="call", outcome="connected").exists()


def test_a_changed_plan_applies_to_the_next_contacted_lead_only(salesperson):
    before = make_lead("contacted", owner=salesperson)

    followup_steps_set([(2, "call", "Call back"), (10, "email", ""), (30, "sms", "Check in")])
    after = make_lead("contacted", owner=salesperson)

    assert len(plan_days(before)) == 16
    assert plan_days(after) == [2, 10, 30]
    assert after.tasks.get(plan_day=10).title == "E-mail the customer"


@pytest.mark.parametrize(
    "steps, message",
    [
        ([(0, "call", "")], "Day 0 is outside the plan"),
        ([(46, "call", "")], "Day 46 is outside the plan"),
        ([(3, "call", ""), (3, "sms", "")], "Day 3 appears twice"),
        ([(3, "note", "")], "'note' is not a way to reach a customer"),
    ],
)
def test_a_bad_plan_is_refused_and_the_old_one_kept(steps, message):
    with pytest.raises(InvalidActivity, match=message):
        followup_steps_set(steps)

    assert FollowUpStep.objects.count() == 16


def test_a_manager_edits_the_plan_in_the_browser(client, bdc_manager):
    client.force_login(bdc_manager)
    page = client.get(reverse("leads:plan"))
    formset = page.context["formset"]
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "0",
        "form-0-day": "1",
        "form-0-channel": "call",
        "form-0-instruction": "Call",
        "form-1-day": "8",
        "form-1-channel": "sms",
        "form-1-instruction": "",
    }

    response = client.post(reverse("leads:plan"), data)

    assert len(formset.forms) == 16 + 3
    assert response.status_code == 302
    assert list(FollowUpStep.objects.values_list("day", "channel")) == [(1, "call"), (8, "sms")]


def test_the_plan_page_refuses_a_day_twice(client, bdc_manager):
    client.force_login(bdc_manager)
    data = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "0",
        "form-0-day": "4",
        "form-0-channel": "call",
        "form-1-day": "4",
        "form-1-channel": "sms",
    }

    response = client.post(reverse("leads:plan"), data)

    assert response.status_code == 200
    assert "day 4 appears more than once" in response.content.decode()
    assert FollowUpStep.objects.count() == 16


def test_a_salesperson_may_not_edit_the_plan(client, salesperson):
    client.force_login(salesperson)

    assert client.get(reverse("leads:plan")).status_code == 403


def test_the_plan_page_runs_a_fixed_number_of_queries(
    client, bdc_manager, django_assert_num_queries
):
    client.force_login(bdc_manager)
    client.get(reverse("leads:plan"))

    # session, user, the steps.
    with django_assert_num_queries(3):
        client.get(reverse("leads:plan"))
