"""Website activity: events stored, sessions cut, visitors stitched to customers, and tracking
that goes on after the lead is closed."""

import json
from datetime import timedelta

from django.utils import timezone

from leads.intake import lead_intake
from leads.models import Lead, LeadStatus, WebEvent, WebVisitor
from leads.selectors import web_profile_for_customer
from leads.services import lead_change_status
from leads.submission import Submission
from tests.factories import reason

START = timezone.now().replace(microsecond=0) - timedelta(days=3)


def events(client, body):
    return client.post("/api/v1/events/", json.dumps(body), content_type="application/json")


def browse(client, visitor_id, minutes, type="page_view", **fields):
    body = [
        {
            "visitor_id": visitor_id,
            "type": type,
            "occurred_at": (START + timedelta(minutes=minute)).isoformat(),
            **fields,
        }
        for minute in minutes
    ]
    response = events(client, body)
    assert response.status_code == 202, response.content
    return response.json()


def test_events_are_stored_and_answered_with_202(provider_api):
    response = events(
        provider_api,
        {"visitor_id": "v-1", "type": "vehicle_view", "vin": "1hgcm82633a004352", "make": "Honda"},
    )

    assert response.status_code == 202
    assert response.json() == {"stored": 1, "identified_visitors": 0, "warnings": []}
    event = WebEvent.objects.get()
    assert (event.visitor.visitor_id, event.vin, event.customer) == (
        "v-1",
        "1HGCM82633A004352",
        None,
    )


def test_a_bad_event_answers_400_naming_it_and_stores_nothing(provider_api):
    response = events(
        provider_api,
        [{"visitor_id": "v-1", "type": "page_view"}, {"visitor_id": "v-1", "type": "teleport"}],
    )

    assert response.status_code == 400
    assert response.json() == {"1": {"type": ['"teleport" is not a valid choice.']}}
    assert WebEvent.objects.count() == 0


def test_thirty_minutes_without_an_event_starts_a_new_session(provider_api):
    browse(provider_api, "v-1", [0, 10, 35, 100, 125])

    assert WebEvent.objects.values("session_key").distinct().count() == 2


def test_browsing_before_the_lead_is_stitched_to_the_customer_when_the_lead_names_the_visitor(
    provider_api,
):
    browse(provider_api, "v-1", [0, 5], type="vehicle_view", make="Toyota", model="RAV4")
    browse(provider_api, "v-1", [120], type="form_view")

    lead = lead_intake(
        Submission(source="website", emails=("ann@example.com",), visitor_id="v-1")
    ).lead

    assert set(WebEvent.objects.values_list("customer", flat=True)) == {lead.customer_id}
    profile = web_profile_for_customer(lead.customer_id, top_vehicles=3)
    assert (profile.sessions, profile.vehicles_viewed, profile.forms_viewed) == (2, 1, 1)
    assert profile.top_vehicles == (("Toyota RAV4", 2),)
    assert lead.last_seen_at == START + timedelta(minutes=120)
    # base 10 + e-mail 10 + 2 sessions × 4 + 1 form × 3 + 1 vehicle × 2
    assert lead.score == 33


def test_an_event_with_an_email_identifies_its_visitor_to_a_later_lead(provider_api):
    result = browse(provider_api, "v-2", [0], email="Ann@Example.com")
    assert result["identified_visitors"] == 0

    lead = lead_intake(Submission(source="website", emails=("ann@example.com",))).lead

    assert WebVisitor.objects.get(visitor_id="v-2").customer_id == lead.customer_id
    assert WebEvent.objects.get().customer_id == lead.customer_id


def test_an_event_with_a_known_customers_phone_links_the_visitor_at_once(provider_api):
    lead = lead_intake(Submission(source="website", phones=("+12025550143",))).lead
    browse(provider_api, "v-3", [0, 1])

    result = browse(provider_api, "v-3", [2], phone="(202) 555-0143")

    assert result["identified_visitors"] == 1
    assert set(WebEvent.objects.values_list("customer", flat=True)) == {lead.customer_id}


def test_an_event_with_a_contact_that_does_not_parse_is_stored_with_a_warning(provider_api):
    result = browse(provider_api, "v-4", [0], email="not-an-address")

    assert result["stored"] == 1
    assert result["warnings"] == [
        "visitor v-4: e-mail 'not-an-address' is not a valid e-mail address; "
        "not used to identify it"
    ]


def test_tracking_goes_on_after_the_lead_is_lost(provider_api, salesperson):
    lead = lead_intake(
        Submission(source="website", emails=("ann@example.com",), visitor_id="v-5")
    ).lead
    lead_change_status(
        lead=lead,
        to_status=LeadStatus.LOST,
        by=salesperson,
        reason=reason("lost", "bought_elsewhere"),
    )

    browse(provider_api, "v-5", [60 * 24 * 2], type="vehicle_view", make="Ford")

    lead = Lead.objects.get()
    assert lead.status == LeadStatus.LOST
    assert lead.last_seen_at == START + timedelta(days=2)
    assert WebEvent.objects.get().customer_id == lead.customer_id
