"""Logging activities: personal against automated, and what the first personal touch does."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.errors import InvalidActivity
from leads.models import Activity, LeadEvent, LeadStatus
from leads.services import activity_log
from tests.factories import make_lead

S = LeadStatus


@pytest.mark.django_db
def test_the_first_personal_call_contacts_a_new_lead(salesperson):
    lead = make_lead(S.NEW, owner=salesperson, at=timezone.now() - timedelta(minutes=10))
    at = timezone.now() - timedelta(minutes=3)

    activity_log(lead=lead, kind=Activity.Kind.CALL, by=salesperson, occurred_at=at)

    lead.refresh_from_db()
    assert lead.status == S.CONTACTED
    assert lead.first_contacted_at == at
    assert lead.last_activity_at == at
    event = lead.events.get(to_status=S.CONTACTED)
    assert (event.kind, event.from_status, event.to_status) == (
        LeadEvent.Kind.STATUS_CHANGED,
        S.NEW,
        S.CONTACTED,
    )
    assert event.actor == salesperson
    assert event.note == "First contact: call"


@pytest.mark.django_db
def test_an_automated_email_does_not_count_as_contact():
    lead = make_lead(S.NEW)

    activity = activity_log(lead=lead, kind=Activity.Kind.EMAIL, by="autoresponder", automated=True)

    lead.refresh_from_db()
    assert activity.automated is True
    assert lead.status == S.NEW
    assert lead.first_contacted_at is None
    assert lead.last_activity_at == activity.occurred_at


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "direction"),
    [(Activity.Kind.CALL, "inbound"), (Activity.Kind.NOTE, "outbound")],
)
def test_inbound_touches_and_notes_do_not_count_as_contact(kind, direction, salesperson):
    lead = make_lead(S.NEW, owner=salesperson)

    activity_log(lead=lead, kind=kind, direction=direction, by=salesperson)

    lead.refresh_from_db()
    assert lead.status == S.NEW
    assert lead.first_contacted_at is None


@pytest.mark.django_db
def test_a_later_touch_keeps_the_first_contact_time(salesperson):
    lead = make_lead(S.NEW, owner=salesperson)
    first = timezone.now() - timedelta(hours=2)
    activity_log(lead=lead, kind=Activity.Kind.CALL, by=salesperson, occurred_at=first)

    activity_log(lead=lead, kind=Activity.Kind.SMS, by=salesperson)

    lead.refresh_from_db()
    assert lead.first_contacted_at == first
    assert lead.last_activity_at > first
    assert lead.events.filter(to_status=S.CONTACTED).count() == 1


@pytest.mark.django_db
def test_a_touch_logged_late_does_not_move_last_activity_back(salesperson):
    lead = make_lead(S.CONTACTED, owner=salesperson)
    activity_log(lead=lead, kind=Activity.Kind.CALL, by=salesperson)
    lead.refresh_from_db()
    latest = lead.last_activity_at

    activity_log(
        lead=lead,
        kind=Activity.Kind.NOTE,
        by=salesperson,
        occurred_at=latest - timedelta(days=1),
    )

    lead.refresh_from_db()
    assert lead.last_activity_at == latest


@pytest.mark.django_db
def test_a_personal_touch_on_a_lead_closed_before_contact_records_first_contact(salesperson):
    lead = make_lead(S.DISQUALIFIED, owner=salesperson)

    activity = activity_log(lead=lead, kind=Activity.Kind.CALL, by=salesperson)

    lead.refresh_from_db()
    assert lead.status == S.DISQUALIFIED
    assert lead.first_contacted_at == activity.occurred_at


@pytest.mark.django_db
def test_an_automated_touch_cannot_claim_a_person(salesperson):
    lead = make_lead(S.NEW)

    with pytest.raises(InvalidActivity, match="integration, not a person"):
        activity_log(lead=lead, kind=Activity.Kind.EMAIL, by=salesperson, automated=True)

    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_a_personal_touch_needs_a_person():
    lead = make_lead(S.NEW)

    with pytest.raises(InvalidActivity, match="needs the person"):
        activity_log(lead=lead, kind=Activity.Kind.CALL, by="dialer")

    assert not Activity.objects.exists()


@pytest.mark.django_db
def test_an_activity_in_the_future_is_refused(salesperson):
    lead = make_lead(S.NEW)

    with pytest.raises(InvalidActivity, match="future"):
        activity_log(
            lead=lead,
            kind=Activity.Kind.CALL,
            by=salesperson,
            occurred_at=timezone.now() + timedelta(hours=1),
        )


@pytest.mark.django_db
def test_a_first_call_logged_late_still_counts_as_the_first_contact(salesperson):
    lead = make_lead(S.NEW, owner=salesperson)
    activity_log(lead=lead, kind=Activity.Kind.SMS, by=salesperson)
    earlier = timezone.now() - timedelta(hours=1)

    activity_log(lead=lead, kind=Activity.Kind.CALL, by=salesperson, occurred_at=earlier)

    lead.refresh_from_db()
    assert lead.first_contacted_at == earlier
