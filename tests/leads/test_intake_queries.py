"""Intake of one lead runs a fixed number of queries, whatever the tables hold."""

import pytest
from django.db import connection

from leads.intake import lead_intake
from leads.submission import Submission, VehicleDetails
from tests.factories import make_lead

# PostgreSQL takes one advisory lock statement for the inquiry's id and contact details.
LOCK = 1 if connection.vendor == "postgresql" else 0


def submission(n, **fields):
    return Submission(
        source="website",
        external_id=fields.pop("external_id", f"f-{n}"),
        emails=(f"ann{n}@example.com",),
        phones=(f"+1312555{n:04d}",),
        vehicle=VehicleDetails(year=2025, make="Kia", model="EV6"),
        visitor_id=f"v-{n}",
        **fields,
    )


@pytest.fixture(autouse=True)
def warm(db):
    """Other leads exist, and an earlier intake left the weights and sources in the cache."""
    for _ in range(5):
        make_lead()
    lead_intake(submission(9999))


def test_a_new_lead_takes_a_fixed_number_of_queries(django_assert_num_queries):
    # savepoint, [lock], what is known (inquiry received before? customer? unclaimed
    # visitors?), customer insert, visitor created or claimed, the routing rules (none here:
    # the lead waits in the pool), lead insert, history insert (created and routed), inquiry
    # insert, release. No website profile: a customer created a moment ago was linked to no
    # visitor history. The opening hours come from the cache.
    with django_assert_num_queries(9 + LOCK):
        result = lead_intake(submission(1))
    assert result.created


def test_a_new_lead_of_a_known_visitor_also_reads_the_website_profile(
    provider_api, django_assert_num_queries
):
    provider_api.post("/api/v1/events/", {"visitor_id": "v-1", "type": "page_view"}, format="json")

    # as above, with the visitor's events stitched and the website profile read.
    with django_assert_num_queries(11 + LOCK):
        result = lead_intake(submission(1))
    assert result.lead.last_seen_at is not None


def test_a_repeat_inquiry_takes_a_fixed_number_of_queries(django_assert_num_queries):
    lead_intake(submission(1))

    # savepoint, [lock], what is known, the customer, the open lead locked, visitor created or
    # claimed (here: already the customer's), lead update, history insert, inquiry insert (no
    # owner to notify), release. No website profile: the lead was never seen on the site.
    with django_assert_num_queries(9 + LOCK):
        result = lead_intake(submission(1, external_id="f-2", comments="again"))
    assert result.outcome == "merged"


def test_an_inquiry_received_before_takes_four_queries(django_assert_num_queries):
    lead_intake(submission(1))

    # savepoint, [lock], what is known (the inquiry's lead id), the lead, release.
    with django_assert_num_queries(4 + LOCK):
        result = lead_intake(submission(1))
    assert result.outcome == "already_received"
