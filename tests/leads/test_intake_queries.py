"""Intake of one lead runs a fixed number of queries, whatever the tables hold."""

from django.db import connection

from leads.intake import lead_intake
from leads.submission import Submission, VehicleDetails
from tests.factories import make_lead

# PostgreSQL takes one advisory lock statement for the inquiry's id and contact details.
LOCK = 1 if connection.vendor == "postgresql" else 0


def submission(**fields):
    return Submission(
        source="website",
        external_id=fields.pop("external_id", "f-1"),
        emails=("ann@example.com",),
        phones=("+12025550143",),
        vehicle=VehicleDetails(year=2025, make="Kia", model="EV6"),
        visitor_id="v-1",
        **fields,
    )


def test_a_new_lead_takes_a_fixed_number_of_queries(db, django_assert_num_queries):
    for _ in range(5):
        make_lead()

    # savepoint, [lock], inquiry already received?, customer match, customer insert,
    # lead source, visitor upsert, visitors claimed, their events stitched, website profile,
    # score weights, savepoint, lead insert, history insert, release, inquiry insert, release.
    with django_assert_num_queries(16 + LOCK):
        result = lead_intake(submission())
    assert result.created


def test_a_repeat_inquiry_takes_a_fixed_number_of_queries(db, django_assert_num_queries):
    lead_intake(submission())

    # savepoint, [lock], inquiry already received?, customer match, the open lead locked,
    # visitor upsert, visitors claimed, their events stitched, website profile, lead source,
    # score weights, lead update, history insert, inquiry insert (no owner to notify), release.
    with django_assert_num_queries(14 + LOCK):
        result = lead_intake(submission(external_id="f-2", comments="again"))
    assert result.outcome == "merged"


def test_an_inquiry_received_before_takes_three_queries(db, django_assert_num_queries):
    lead_intake(submission())

    # savepoint, [lock], inquiry already received (with its lead), release.
    with django_assert_num_queries(3 + LOCK):
        result = lead_intake(submission())
    assert result.outcome == "already_received"
