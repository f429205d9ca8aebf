"""Returning lost and disqualified leads to work, always with a recorded cause."""

import pytest

from leads.errors import ActorRequired, InvalidTransition
from leads.models import LeadEvent, LeadStatus
from leads.services import lead_change_status, lead_reopen
from tests.factories import make_lead, reason

S = LeadStatus
Cause = LeadEvent.ReopenCause


@pytest.mark.django_db
@pytest.mark.parametrize("cause", [Cause.PERSON, Cause.AUDIT])
def test_reopening_a_disqualified_lead_records_the_cause_and_the_person(cause, bdc_manager):
    lead = make_lead(S.DISQUALIFIED)

    lead = lead_reopen(lead=lead, cause=cause, by=bdc_manager, note="Real customer after all")

    lead.refresh_from_db()
    assert lead.status == S.NEW
    assert lead.closed_at is None
    assert lead.close_reason is None
    event = lead.events.last()
    assert event.kind == LeadEvent.Kind.REOPENED
    assert (event.from_status, event.to_status) == (S.DISQUALIFIED, S.NEW)
    assert event.cause == cause
    assert event.actor == bdc_manager
    assert event.note == "Real customer after all"


@pytest.mark.django_db
def test_reopening_returns_the_lead_to_the_status_it_was_lost_from(salesperson):
    lead = make_lead(S.APPOINTMENT, owner=salesperson)
    lead = lead_change_status(
        lead=lead, to_status=S.LOST, by=salesperson, reason=reason("lost", "postponed")
    )

    lead = lead_reopen(lead=lead, cause=Cause.PERSON, by=salesperson)

    assert lead.status == S.APPOINTMENT
    assert lead.events.last().to_status == S.APPOINTMENT


@pytest.mark.django_db
def test_resurfacing_may_be_done_by_a_job():
    lead = make_lead(S.LOST)

    lead = lead_reopen(lead=lead, cause=Cause.RESURFACING, by="sweep:reactivation")

    event = lead.events.last()
    assert lead.status == S.CONTACTED
    assert (event.cause, event.actor, event.actor_label) == (
        Cause.RESURFACING,
        None,
        "sweep:reactivation",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("cause", [Cause.PERSON, Cause.AUDIT])
def test_a_person_or_an_audit_return_needs_a_person(cause):
    lead = make_lead(S.LOST)

    with pytest.raises(ActorRequired):
        lead_reopen(lead=lead, cause=cause, by="sweep:reactivation")

    lead.refresh_from_db()
    assert lead.status == S.LOST


@pytest.mark.django_db
def test_an_unknown_cause_is_refused(salesperson):
    lead = make_lead(S.LOST)

    with pytest.raises(ValueError):
        lead_reopen(lead=lead, cause="because", by=salesperson)


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.NEW, S.CONTACTED, S.QUALIFIED, S.APPOINTMENT, S.SOLD])
def test_only_lost_and_disqualified_leads_can_be_reopened(status, salesperson):
    lead = make_lead(status)
    events_before = lead.events.count()

    with pytest.raises(InvalidTransition, match=f"'{status}' cannot move to 'reopened'"):
        lead_reopen(lead=lead, cause=Cause.PERSON, by=salesperson)

    lead.refresh_from_db()
    assert lead.status == status
    assert lead.events.count() == events_before


@pytest.mark.django_db
def test_the_original_disqualification_reason_stays_in_the_history(bdc_manager):
    lead = make_lead(S.DISQUALIFIED)

    lead_reopen(lead=lead, cause=Cause.AUDIT, by=bdc_manager)

    kinds = list(lead.events.values_list("kind", "to_status", "reason__code"))
    assert kinds == [
        ("created", "new", None),
        ("status_changed", "disqualified", "spam"),
        ("reopened", "new", None),
    ]
