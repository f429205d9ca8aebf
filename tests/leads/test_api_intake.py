"""The JSON intake contract: POST /api/v1/leads/."""

import json

import pytest

from dealercrm.models import Customer
from leads.models import Inquiry, Lead, LeadEvent, LeadStatus

WEBSITE_LEAD = {
    "source": "website",
    "external_id": "form-1",
    "first_name": "Maria",
    "last_name": "Lopez",
    "email": " Maria.Lopez@Example.COM ",
    "phone": "(202) 555-0143",
    "vehicle": {"year": 2025, "make": "Toyota", "model": "RAV4", "condition": "new"},
    "trade_in": {"year": 2015, "make": "Honda", "model": "Civic", "mileage": 120000},
    "purchase_horizon": "within_month",
    "comments": "Is the blue one still there?",
    "visitor_id": "v-1",
    "consent": {"email": True, "phone": True},
}


def post(client, body, path="/api/v1/leads/"):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_a_posted_lead_is_created_normalised_and_answered_with_201(provider_api):
    response = post(provider_api, WEBSITE_LEAD)

    assert response.status_code == 201
    body = response.json()
    lead = Lead.objects.get()
    assert body["id"] == lead.pk
    assert body["outcome"] == "created"
    assert body["status"] == "new"
    assert body["owner"] is None
    assert body["customer"]["email"] == "maria.lopez@example.com"
    assert body["customer"]["phone"] == "+12025550143"
    assert body["vehicle"] == {
        "year": 2025,
        "make": "Toyota",
        "model": "RAV4",
        "trim": "",
        "vin": "",
        "stock": "",
        "condition": "new",
    }
    assert body["first_response_due_at"] is not None
    # base 10 + phone 15 + e-mail 10 + trade-in 5 + within a month 15
    assert body["score"] == 55
    assert body["score_band"] == "warm"
    assert lead.tradein_mileage == 120000
    assert lead.customer.consent_email and lead.customer.consent_phone
    assert not lead.customer.consent_sms
    inquiry = Inquiry.objects.get()
    assert json.loads(inquiry.raw_payload) == WEBSITE_LEAD
    assert inquiry.received_by.username == "cars-feed"


def test_the_same_source_and_external_id_again_answers_200_with_the_same_lead(provider_api):
    first = post(provider_api, WEBSITE_LEAD).json()

    again = post(provider_api, WEBSITE_LEAD)

    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["outcome"] == "already_received"
    assert Lead.objects.count() == 1
    assert Inquiry.objects.count() == 1
    assert LeadEvent.objects.count() == 2  # created, routed


def test_invalid_fields_answer_400_naming_each_and_write_nothing(provider_api):
    response = post(
        provider_api,
        {"channel": "pigeon", "vehicle": {"year": "soon"}, "purchase_horizon": 3},
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"source", "channel", "vehicle", "purchase_horizon"}
    assert errors["source"] == ["This field is required."]
    assert errors["vehicle"] == {"year": ["A valid integer is required."]}
    assert Customer.objects.count() == Lead.objects.count() == 0


def test_malformed_json_answers_400_saying_so(provider_api):
    response = provider_api.post("/api/v1/leads/", "{nope", content_type="application/json")

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert Lead.objects.count() == 0


def test_a_phone_that_does_not_parse_is_kept_and_flagged(provider_api):
    response = post(provider_api, {"source": "website", "email": "a@example.com", "phone": "12"})

    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.status == LeadStatus.NEW
    assert lead.customer.phone == ""
    assert lead.contact_issues == [
        {"field": "phone", "value": "12", "problem": "phone '12' is not a valid phone number in US"}
    ]


def test_a_lead_with_no_working_contact_is_disqualified_and_kept(provider_api):
    response = post(provider_api, {"source": "website", "email": "nope", "phone": "12"})

    assert response.status_code == 201
    lead = Lead.objects.get()
    assert lead.status == LeadStatus.DISQUALIFIED
    assert lead.close_reason.code == "invalid_contact"
    assert lead.first_response_due_at is None
    assert [issue["field"] for issue in lead.contact_issues] == ["email", "phone"]
    closing = lead.events.get(to_status=LeadStatus.DISQUALIFIED)
    assert closing.actor_label == "intake"
    assert "No working phone or e-mail" in closing.note


@pytest.mark.parametrize(
    "spam",
    [
        {"first_name": "Buy cheap", "last_name": "http://spam.example"},
        {"comments": "http://a.example http://b.example www.c.example"},
    ],
)
def test_spam_patterns_are_disqualified_as_spam(provider_api, spam):
    post(provider_api, {"source": "website", "email": "a@example.com", **spam})

    lead = Lead.objects.get()
    assert (lead.status, lead.close_reason.code) == (LeadStatus.DISQUALIFIED, "spam")


def test_a_lead_provider_may_post_but_not_read_leads(provider_api):
    created = post(provider_api, WEBSITE_LEAD).json()

    assert provider_api.get("/api/v1/leads/").status_code == 403
    assert provider_api.get(f"/api/v1/leads/{created['id']}/").status_code == 403


def test_a_salesperson_may_not_post_leads(client, salesperson):
    client.force_login(salesperson)

    assert post(client, WEBSITE_LEAD).status_code == 403
    assert Lead.objects.count() == 0


def test_anonymous_requests_are_refused(client):
    assert post(client, WEBSITE_LEAD).status_code in (401, 403)
    assert client.get("/api/v1/leads/").status_code in (401, 403)
