"""The hosted website form of a lead source: a page, its POST, a honeypot and a rate limit."""

import pytest
from django.core.cache import cache

from leads.models import Inquiry, Lead, LeadSource, LeadStatus

URL = "/f/our-site/"
GOOD = {
    "first_name": "Ann",
    "last_name": "Lee",
    "email": "Ann@Example.com",
    "phone": "202 555 0143",
    "vehicle_make": "Kia",
    "vehicle_model": "EV6",
    "purchase_horizon": "within_week",
    "comments": "Can I test drive on Saturday?",
    "consent_email": "on",
    "visitor_id": "v-7",
    "website": "",
}


@pytest.fixture(autouse=True)
def site_form(sales_team):
    cache.clear()  # the rate limit counts in the cache
    return LeadSource.objects.create(
        key="our-site",
        name="Our website",
        channel=Lead.Channel.WEB_FORM,
        team=sales_team,
        form_enabled=True,
        form_title="Ask about a car",
    )


def test_the_form_page_is_public_and_embeddable(client):
    response = client.get(URL, {"visitor_id": "v-7"})

    assert response.status_code == 200
    assert b"Ask about a car" in response.content
    assert b'value="v-7"' in response.content
    assert "X-Frame-Options" not in response.headers


def test_a_sent_form_makes_a_lead_in_the_sources_pool(client, sales_team):
    response = client.post(URL, GOOD)

    assert response.status_code == 302
    assert response.headers["Location"] == f"{URL}?sent=1"
    lead = Lead.objects.get()
    assert (lead.source, lead.channel, lead.team, lead.status) == (
        "our-site",
        "web_form",
        sales_team,
        LeadStatus.NEW,
    )
    assert (lead.customer.email, lead.customer.phone) == ("ann@example.com", "+12025550143")
    assert lead.customer.consent_email and not lead.customer.consent_sms
    assert lead.vehicle_label == "Kia EV6"
    assert Inquiry.objects.get().payload_format == "form"
    assert b"Thank you" in client.get(f"{URL}?sent=1").content


def test_a_person_is_asked_to_fix_a_phone_that_does_not_parse(client):
    response = client.post(URL, {**GOOD, "phone": "555"})

    assert response.status_code == 200
    assert b"Please check the number" in response.content
    assert Lead.objects.count() == 0


def test_a_form_without_any_contact_is_sent_back(client):
    response = client.post(URL, {**GOOD, "email": "", "phone": ""})

    assert b"Leave an e-mail address or a phone number" in response.content
    assert Lead.objects.count() == 0


def test_a_filled_honeypot_makes_a_disqualified_spam_lead(client):
    client.post(URL, {**GOOD, "website": "http://cheap-pills.example"})

    lead = Lead.objects.get()
    assert (lead.status, lead.close_reason.code) == (LeadStatus.DISQUALIFIED, "spam")


def test_an_address_posting_too_often_is_slowed_down(client):
    for n in range(10):
        assert client.post(URL, {**GOOD, "email": f"p{n}@example.com"}).status_code == 302

    response = client.post(URL, {**GOOD, "email": "p11@example.com"})

    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert Lead.objects.count() == 1  # one phone number: one lead and nine repeat inquiries


def test_a_source_without_a_form_has_no_page(client, site_form):
    site_form.form_enabled = False
    site_form.save()

    assert client.get(URL).status_code == 404
