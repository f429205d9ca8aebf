"""Quick actions on the lead page: logged without a reload (htmx answers with the workspace),
refused with a clear message when the lead changed meanwhile, never half-written."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import Activity, FollowUpTask, LeadEvent, LeadStatus
from leads.routing import lead_reassign
from leads.services import lead_change_status
from tests.factories import make_lead, reason

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "workspace"}


@pytest.fixture
def lead(salesperson):
    return make_lead(owner=salesperson)


def post(client, name, lead, data, htmx=True):
    return client.post(reverse(name, args=[lead.pk]), data, **(HTMX if htmx else {}))


def call(lead, **fields):
    return {
        "log-seen": lead.edit_token,
        "log-kind": "call",
        "log-direction": "outbound",
        "log-outcome": "connected",
        "log-minutes": "12",
        "log-seconds": "5",
        "log-body": "Wants a test drive on Saturday",
        **fields,
    }


def test_logging_a_call_answers_with_the_timeline_and_counts_as_first_contact(
    client, salesperson, lead
):
    client.force_login(salesperson)

    response = post(client, "leads:log_activity", lead, call(lead))

    assert response.status_code == 200
    assert response["HX-Trigger"] == "leadChanged"
    page = response.content.decode()
    assert 'id="workspace"' in page and "<html" not in page
    assert "Call · outbound · talked" not in page  # outcome labels come from the model
    assert "Call · outbound · connected · 12:05 min" in page
    assert "Wants a test drive on Saturday" in page
    activity = lead.activities.get()
    assert (activity.duration_seconds, activity.actor, activity.automated) == (
        725,
        salesperson,
        False,
    )
    assert activity.customer_responded is True
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    assert lead.first_contacted_at == activity.occurred_at


def test_a_call_under_seven_minutes_is_marked_short(client, salesperson, lead):
    client.force_login(salesperson)

    response = post(
        client, "leads:log_activity", lead, call(lead, **{"log-minutes": "6", "log-seconds": "59"})
    )

    assert "short call" in response.content.decode()
    assert lead.activities.get().is_short_call


def test_a_seven_minute_call_is_not_short(client, salesperson, lead):
    client.force_login(salesperson)

    response = post(
        client, "leads:log_activity", lead, call(lead, **{"log-minutes": "7", "log-seconds": "0"})
    )

    assert "short call" not in response.content.decode()


def test_a_call_without_an_outcome_is_refused_and_nothing_is_written(client, salesperson, lead):
    client.force_login(salesperson)

    response = post(client, "leads:log_activity", lead, call(lead, **{"log-outcome": ""}))

    assert response.status_code == 422
    assert "Say how the call went." in response.content.decode()
    assert not lead.activities.exists()


@pytest.mark.parametrize("kind", ["email", "sms", "chat", "note"])
def test_other_touches_are_personal_and_logged(client, salesperson, lead, kind):
    client.force_login(salesperson)

    post(
        client,
        "leads:log_activity",
        lead,
        {
            "log-seen": lead.edit_token,
            "log-kind": kind,
            "log-direction": "outbound",
            "log-body": "Sent the brochure",
        },
    )

    activity = lead.activities.get()
    assert (activity.kind, activity.automated, activity.body) == (kind, False, "Sent the brochure")
    assert activity.direction == "outbound"


def test_marking_a_lead_lost_needs_a_reason(client, salesperson, lead):
    lead = lead_change_status(lead=lead, to_status="contacted", by=salesperson)
    client.force_login(salesperson)

    response = post(
        client, "leads:status", lead, {"status-seen": lead.edit_token, "status-to_status": "lost"}
    )

    assert response.status_code == 422
    assert "Pick why the lead is lost." in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED


def test_marking_a_lead_lost_with_a_reason_closes_it_and_cancels_its_plan(
    client, salesperson, lead
):
    lead = lead_change_status(lead=lead, to_status="contacted", by=salesperson)
    lost = reason("lost", "bought_elsewhere")
    client.force_login(salesperson)

    response = post(
        client,
        "leads:status",
        lead,
        {"status-seen": lead.edit_token, "status-to_status": "lost", "status-reason": lost.pk},
    )

    assert response.status_code == 200
    assert "Marked lost." in response.content.decode()
    lead.refresh_from_db()
    assert (lead.status, lead.close_reason) == (LeadStatus.LOST, lost)
    assert not lead.tasks.filter(status=FollowUpTask.Status.OPEN).exists()
    assert lead.tasks.filter(status=FollowUpTask.Status.CANCELLED).count() == 16


def test_a_change_made_on_a_stale_page_is_refused_with_what_happened(client, salesperson, lead):
    seen = lead.edit_token
    lead_change_status(
        lead=lead, to_status="disqualified", by="sweep:test", reason=reason("disqualified", "spam")
    )
    client.force_login(salesperson)

    response = post(client, "leads:log_activity", lead, call(lead, **{"log-seen": seen}))

    assert response.status_code == 409
    page = response.content.decode()
    assert "This lead was marked disqualified by sweep:test at" in page
    assert "Nothing was saved" in page
    assert not lead.activities.exists()


def test_a_lead_reassigned_away_meanwhile_says_so_instead_of_404(
    client, salesperson, other_salesperson, bdc_manager, lead
):
    seen = lead.edit_token
    lead_reassign(lead=lead, owner=other_salesperson, by=bdc_manager, reason="Day off")
    client.force_login(salesperson)

    response = post(client, "leads:log_activity", lead, call(lead, **{"log-seen": seen}))

    assert response.status_code == 409
    assert "This lead is no longer yours" in response.content.decode()
    assert not lead.activities.exists()


def test_a_manager_who_reassigned_sees_the_conflict_named(
    client, salesperson, other_salesperson, bdc_manager, lead
):
    seen = lead.edit_token
    lead_reassign(lead=lead, owner=other_salesperson, by=bdc_manager, reason="Day off")
    client.force_login(bdc_manager)

    response = post(client, "leads:log_activity", lead, call(lead, **{"log-seen": seen}))

    assert response.status_code == 409
    assert "This lead was reassigned to Bob bob by Dana dana at" in response.content.decode()


def test_a_pool_lead_is_claimed_before_it_is_worked(client, salesperson, sales_team):
    lead = make_lead(team=sales_team)
    client.force_login(salesperson)

    response = post(client, "leads:log_activity", lead, call(lead))

    assert response.status_code == 403
    assert "Claim this lead before working it." in response.content.decode()
    assert not lead.activities.exists()


def test_setting_an_appointment_moves_the_lead_and_adds_a_task(client, salesperson, lead):
    lead = lead_change_status(lead=lead, to_status="contacted", by=salesperson)
    starts = timezone.localtime() + timedelta(days=2)
    client.force_login(salesperson)

    response = post(
        client,
        "leads:appointment",
        lead,
        {
            "appointment-seen": lead.edit_token,
            "appointment-starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        },
    )

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.status == LeadStatus.APPOINTMENT
    assert lead.appointment_at == starts.replace(second=0, microsecond=0)
    task = lead.tasks.get(kind=FollowUpTask.Kind.APPOINTMENT)
    assert (task.due_on, task.title) == (starts.date(), f"Appointment at {starts:%H:%M}")
    assert lead.events.filter(kind=LeadEvent.Kind.APPOINTMENT_SET).count() == 1
    assert "Appointment set for" in response.content.decode()


def test_an_appointment_in_the_past_is_refused(client, salesperson, lead):
    lead = lead_change_status(lead=lead, to_status="contacted", by=salesperson)
    client.force_login(salesperson)
    past = timezone.localtime() - timedelta(days=1)

    response = post(
        client,
        "leads:appointment",
        lead,
        {
            "appointment-seen": lead.edit_token,
            "appointment-starts_at": past.strftime("%Y-%m-%dT%H:%M"),
        },
    )

    assert response.status_code == 422
    assert "The appointment time has passed" in response.content.decode()
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED


def test_reopening_needs_a_cause_and_records_it(client, salesperson):
    lead = make_lead(LeadStatus.LOST, owner=salesperson)
    client.force_login(salesperson)

    refused = post(client, "leads:reopen", lead, {"reopen-seen": lead.edit_token})
    response = post(
        client,
        "leads:reopen",
        lead,
        {"reopen-seen": lead.edit_token, "reopen-note": "Called back, still looking"},
    )

    assert refused.status_code == 422
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    event = lead.events.get(kind=LeadEvent.Kind.REOPENED)
    assert (event.cause, event.note, event.actor) == (
        "person",
        "Called back, still looking",
        salesperson,
    )
    assert lead.tasks.filter(status=FollowUpTask.Status.OPEN).count() == 16


def test_without_htmx_an_action_redirects_back_to_the_lead(client, salesperson, lead):
    client.force_login(salesperson)

    response = post(client, "leads:log_activity", lead, call(lead), htmx=False)

    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[lead.pk])
    assert lead.activities.get().kind == Activity.Kind.CALL


def test_completing_a_task_logs_what_was_done(client, salesperson, lead):
    lead = lead_change_status(lead=lead, to_status="contacted", by=salesperson)
    task = lead.tasks.order_by("due_on").first()
    client.force_login(salesperson)
    prefix = f"task-{task.pk}"

    response = client.post(
        reverse("leads:task_complete", args=[lead.pk, task.pk]),
        {
            f"{prefix}-seen": lead.edit_token,
            f"{prefix}-kind": "sms",
            f"{prefix}-direction": "outbound",
            f"{prefix}-body": "Sent two matching cars",
        },
        **HTMX,
    )

    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.status, task.closed_by) == (FollowUpTask.Status.DONE, salesperson)
    assert (task.activity.kind, task.activity.body) == ("sms", "Sent two matching cars")
    assert "Done: " + task.title in response.content.decode()


def test_a_task_completed_twice_is_refused_the_second_time(client, salesperson, lead):
    lead = lead_change_status(lead=lead, to_status="contacted", by=salesperson)
    task = lead.tasks.order_by("due_on").first()
    client.force_login(salesperson)
    prefix = f"task-{task.pk}"
    data = {
        f"{prefix}-seen": lead.edit_token,
        f"{prefix}-kind": "note",
        f"{prefix}-direction": "outbound",
        f"{prefix}-body": "Done",
    }
    url = reverse("leads:task_complete", args=[lead.pk, task.pk])

    client.post(url, data, **HTMX)
    second = client.post(url, data, **HTMX)

    assert second.status_code == 422
    assert "This task is already done." in second.content.decode()
    assert lead.activities.count() == 1
