"""What the reports count is kept on the lead by the services that write its history: the first
time it was qualified and had an appointment, its return by an audit, the longest quiet tier it
reached, its touches, calls and the customer's first response. Recounting from the activities
(the demo, the migration) gives the same numbers."""

from datetime import timedelta

import pytest

from leads.models import Lead
from leads.services import lead_reopen, lead_set_appointment, leads_touch_counts_refresh
from leads.tasks import stale_sweep
from tests.leads.reporting import at, audit_return, move, new_lead, touch

pytestmark = pytest.mark.django_db

MONDAY = at("2026-07-06", 10)


def fresh(lead):
    return Lead.objects.get(pk=lead.pk)


def test_qualification_is_kept_when_the_lead_is_lost_later(salesperson):
    lead = new_lead(MONDAY, owner=salesperson)
    move(lead, "contacted", MONDAY + timedelta(hours=1), by=salesperson)
    move(lead, "qualified", MONDAY + timedelta(hours=2), by=salesperson)
    move(lead, "lost", MONDAY + timedelta(days=3), by=salesperson)

    assert fresh(lead).qualified_at == MONDAY + timedelta(hours=2)


def test_a_straight_sale_or_appointment_counts_as_qualified(salesperson):
    sold = new_lead(MONDAY, owner=salesperson)
    move(sold, "contacted", MONDAY + timedelta(hours=1), by=salesperson)
    move(sold, "sold", MONDAY + timedelta(days=2), by=salesperson)
    booked = new_lead(MONDAY, owner=salesperson)
    move(booked, "contacted", MONDAY + timedelta(hours=1), by=salesperson)
    lead_set_appointment(
        lead=booked, starts_at=at("2026-12-01", 11), by=salesperson, at=MONDAY + timedelta(hours=3)
    )

    assert fresh(sold).qualified_at == MONDAY + timedelta(days=2)
    assert fresh(sold).appointment_set_at is None
    assert fresh(booked).qualified_at == fresh(booked).appointment_set_at
    assert fresh(booked).appointment_set_at == MONDAY + timedelta(hours=3)


def test_an_audit_return_is_kept_and_only_the_first_one(salesperson, bdc_manager):
    lead = new_lead(MONDAY, owner=salesperson)
    move(lead, "disqualified", MONDAY + timedelta(hours=1), by=salesperson)
    audit_return(lead, MONDAY + timedelta(days=5), by=bdc_manager)
    move(lead, "disqualified", MONDAY + timedelta(days=6), by=salesperson)
    audit_return(lead, MONDAY + timedelta(days=9), by=bdc_manager)

    lead = fresh(lead)
    assert lead.audit_returned_at == MONDAY + timedelta(days=5)
    assert lead.qualified_at is None


def test_a_return_by_a_person_is_no_audit(salesperson):
    lead = new_lead(MONDAY, owner=salesperson)
    move(lead, "disqualified", MONDAY + timedelta(hours=1), by=salesperson)
    lead_reopen(lead=lead, cause="person", by=salesperson, at=MONDAY + timedelta(days=1))

    assert fresh(lead).audit_returned_at is None


def test_touches_calls_and_the_first_response_are_counted(salesperson):
    lead = new_lead(MONDAY, owner=salesperson)
    touch(lead, MONDAY + timedelta(minutes=1), by="autoresponder", kind="email")
    touch(lead, MONDAY + timedelta(minutes=2), by="autoresponder", kind="sms")
    touch(lead, MONDAY + timedelta(minutes=30), by=salesperson, kind="call", duration_seconds=60)
    touch(lead, MONDAY + timedelta(hours=2), by=salesperson, kind="email")
    touch(lead, MONDAY + timedelta(hours=3), by=salesperson, kind="note")
    touch(
        lead,
        MONDAY + timedelta(hours=5),
        by=salesperson,
        kind="email",
        direction="inbound",
    )
    # Logged late, but earlier than the inbound e-mail: it is the first response.
    touch(
        lead,
        MONDAY + timedelta(hours=4),
        by=salesperson,
        kind="call",
        duration_seconds=600,
        customer_responded=True,
    )

    lead = fresh(lead)
    assert (lead.personal_touches, lead.calls, lead.automated_touches) == (3, 2, 2)
    assert lead.responded_at == MONDAY + timedelta(hours=4)

    Lead.objects.filter(pk=lead.pk).update(
        personal_touches=0, calls=0, automated_touches=0, responded_at=None
    )
    leads_touch_counts_refresh([lead.pk])
    recounted = fresh(lead)
    assert (recounted.personal_touches, recounted.calls, recounted.automated_touches) == (3, 2, 2)
    assert recounted.responded_at == MONDAY + timedelta(hours=4)


def test_the_longest_quiet_tier_stays_when_the_lead_is_worked_again(salesperson):
    lead = new_lead(MONDAY, owner=salesperson)
    touch(lead, MONDAY, by=salesperson)
    stale_sweep(now=MONDAY + timedelta(days=15))
    assert (fresh(lead).stale_tier, fresh(lead).quiet_tier_reached) == (14, 14)

    touch(lead, MONDAY + timedelta(days=16), by=salesperson)
    stale_sweep(now=MONDAY + timedelta(days=24))

    lead = fresh(lead)
    assert (lead.stale_tier, lead.quiet_tier_reached) == (7, 14)
