"""Rate limits: the intake endpoints per integration account, sign-ins per username and per
address, and the client's address read from the reverse proxy's header."""

import json

import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dealercrm.models import Role
from leads.models import Lead
from tests.factories import make_staff

PASSWORD = "a-long-passphrase-4-tests"
FEW = {
    "web_form": "10/m",
    "intake": "3/m",
    "sign_in_username": "5/15m",
    "sign_in_address": "8/15m",
}


@pytest.fixture(autouse=True)
def few_requests_allowed(settings):
    settings.RATE_LIMITS = FEW


def lead(n):
    return {"source": "website", "external_id": f"form-{n}", "email": f"p{n}@example.com"}


def post_lead(client, n):
    return client.post("/api/v1/leads/", json.dumps(lead(n)), content_type="application/json")


def api_client_of(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_an_integration_over_its_intake_rate_gets_429_with_retry_after(provider_api):
    for n in range(3):
        assert post_lead(provider_api, n).status_code == 201

    response = post_lead(provider_api, 3)

    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"]
    assert Lead.objects.count() == 3


def test_each_integration_and_each_endpoint_counts_on_its_own(provider_api, db):
    for n in range(3):
        post_lead(provider_api, n)
    other = api_client_of(make_staff(Role.LEAD_PROVIDER, None, username="other-feed"))

    assert post_lead(other, 10).status_code == 201
    calls = provider_api.post(
        "/api/v1/calls/",
        json.dumps({"source": "calls", "call_id": "c-1", "caller_number": "+12025550143"}),
        content_type="application/json",
    )
    assert calls.status_code == 201, calls.content


def test_reading_leads_is_not_limited_by_the_intake_rate(client, bdc_manager):
    api = api_client_of(bdc_manager)
    for n in range(3):
        post_lead(api, n)

    assert [api.get("/api/v1/leads/").status_code for _ in range(5)] == [200] * 5


def sign_in(client, username, password, address="203.0.113.7"):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


@pytest.fixture
def alice_with_password(salesperson):
    salesperson.set_password(PASSWORD)
    salesperson.save()
    return salesperson


def test_five_failed_sign_ins_lock_the_username_even_with_the_right_password(
    client, alice_with_password
):
    assert [sign_in(client, "alice", "wrong").status_code for _ in range(5)] == [200] * 5

    response = sign_in(client, "Alice ", PASSWORD)

    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    assert b"Too many failed attempts to log in. Try again in" in response.content
    assert "_auth_user_id" not in client.session


def test_a_successful_sign_in_does_not_count_and_other_usernames_are_not_locked(
    client, alice_with_password, other_salesperson
):
    for _ in range(4):
        sign_in(client, "alice", "wrong")
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    client.logout()
    other_salesperson.set_password(PASSWORD)
    other_salesperson.save()

    assert sign_in(client, "bob", PASSWORD).status_code == 302


def test_many_failures_from_one_address_lock_that_address_only(client, alice_with_password):
    for n in range(8):
        sign_in(client, f"guess-{n}", "wrong")

    assert sign_in(client, "alice", PASSWORD).status_code == 429
    assert sign_in(client, "alice", PASSWORD, address="198.51.100.4").status_code == 302


@override_settings(RATELIMIT_IP_META_KEY="HTTP_X_REAL_IP")
def test_behind_a_proxy_the_address_comes_from_its_header(client, alice_with_password):
    for n in range(8):
        client.post(
            "/accounts/login/",
            {"username": f"guess-{n}", "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_REAL_IP="203.0.113.7",
        )

    locked = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_REAL_IP="203.0.113.7",
    )
    another_client_behind_the_same_proxy = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_REAL_IP="198.51.100.4",
    )

    assert locked.status_code == 429
    assert another_client_behind_the_same_proxy.status_code == 302
