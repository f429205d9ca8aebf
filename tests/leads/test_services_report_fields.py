"""What the reports count is kept on the lead by the services that write its history: the hour
it arrived in, how soon it was first contacted, the first time it was qualified and had an
appointment, its return by an audit, the longest quiet tier it reached, its touches, calls and
the customer's first response. Recounting from the activities (the demo, the migrations) gives
the same numbers."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps

from leads.models import FirstContactBand, Lead
from leads.services import lead_reopen, lead_set_appointment, leads_touch_counts_refresh
from leads.tasks import stale_sweep
from tests.leads.reporting import at, audit_return, move, new_lead, touch

pytestmark = pytest.mark.django_db

MONDAY = at("2026-07-06", 10)


def fresh(lead):
    return Lead.objects.get(pk=lead.pk)


def first_contact(lead):
    lead = fresh(lead)
    return lead.created_hour, lead.first_response_seconds, lead.first_contact_band


@pytest.mark.parametrize(
    "created, contacted, expected",
    [
        (at("2026-07-06", 10), at("2026-07-06", 10, 5), (10, 300, FirstContactBand.WITHIN_5_MIN)),
        (at("2026-07-06", 10), at("2026-07-06", 10, 5, 1), (10, 301, FirstContactBand.WITHIN_HOUR)),
        (at("2026-07-06", 10), at("2026-07-06", 11), (10, 3600, FirstContactBand.WITHIN_HOUR)),
        (at("2026-07-06", 10), at("2026-07-06", 23, 59), (10, 50340, FirstContactBand.SAME_DAY)),
        # Arrived at 23:30, called 40 minutes later: within the hour, though the next day.
        (
            at("2026-07-06", 23, 30),
            at("2026-07-07", 0, 10),
            (23, 2400, FirstContactBand.WITHIN_HOUR),
        ),
        (at("2026-07-06", 22), at("2026-07-07", 0, 30), (22, 9000, FirstContactBand.LATER)),
    ],
)
def test_the_first_contact_keeps_how_soon_it_came(salesperson, created, contacted, expected):
    lead = new_lead(created, owner=salesperson)
    touch(lead, contacted, by=salesperson)

    assert first_contact(lead) == expected


def test_the_same_day_is_the_dealerships_day(settings, salesperson):
    # 17:00 and 20:00 in Chicago are 22:00 and 01:00 the next day in UTC.
    settings.TIME_ZONE = "America/Chicago"
    lead = new_lead(at("2026-07-06", 17), owner=salesperson)
    touch(lead, at("2026-07-06", 20), by=salesperson)

    assert first_contact(lead) == (17, 10800, FirstContactBand.SAME_DAY)


def test_a_call_logged_late_becomes_the_first_contact(salesperson):
    lead = new_lead(MONDAY, owner=salesperson)
    touch(lead, MONDAY + timedelta(hours=2), by=salesperson, kind="email")
    touch(lead, MONDAY + timedelta(minutes=4), by=salesperson)

    assert first_contact(lead) == (10, 240, FirstContactBand.WITHIN_5_MIN)


def test_a_move_to_contacted_is_a_first_contact_and_automated_touches_are_not(salesperson):
    lead = new_lead(MONDAY, owner=salesperson)
    touch(lead, MONDAY + timedelta(minutes=1), by="autoresponder", kind="email")
    assert first_contact(lead) == (10, None, None)

    move(lead, "contacted", MONDAY + timedelta(minutes=20), by=salesperson)

    assert first_contact(lead) == (10, 1200, FirstContactBand.WITHIN_HOUR)


def test_the_migration_fills_the_leads_that_were_there(salesperson):
    contacted = new_lead(MONDAY, owner=salesperson)
    touch(contacted, MONDAY + timedelta(days=2), by=salesperson)
    waiting = new_lead(at("2026-07-06", 7), owner=salesperson)
    Lead.objects.update(created_hour=None, first_response_seconds=None, first_contact_band=None)

    backfill = import_module("leads.migrations.0010_first_contact_timing").first_contact_backfill
    backfill(apps, None)

    assert first_contact(contacted) == (10, 2 * 86400, FirstContactBand.LATER)
    assert first_contact(waiting) == (7, None, None)


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
