"""Generated and mutated bodies against the intake endpoints: never a 5xx, never a partial lead."""

import json
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dealercrm.models import Customer
from leads.models import Lead, LeadEvent

SAMPLES = sorted((Path(__file__).resolve().parent / "adf_samples").glob("*.xml"))

pytestmark = pytest.mark.django_db

# Values of every JSON type, so that fields get the wrong ones as well as the right ones.
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
plausible = {
    "source": st.sampled_from(["website", "cars-com", "", " "]) | any_json,
    "external_id": st.text(max_size=10) | any_json,
    "first_name": st.text(max_size=20),
    "email": st.sampled_from(["ann@example.com", "ANN@EXAMPLE.COM", "nope", ""])
    | st.text(max_size=20),
    "phone": st.sampled_from(["+12025550143", "(202) 555-0143", "12", "anonymous"]) | any_json,
    "vehicle": st.fixed_dictionaries(
        {},
        optional={
            "year": st.integers(1800, 2200) | any_json,
            "make": st.text(max_size=60),
            "vin": st.text(max_size=20),
            "condition": st.sampled_from(["new", "used", "NEW", "lemon"]),
        },
    )
    | any_json,
    "trade_in": st.fixed_dictionaries({}, optional={"mileage": st.integers(-5, 10**7) | any_json})
    | any_json,
    "purchase_horizon": st.sampled_from(["within_week", "later", "someday", ""]) | any_json,
    "consent": st.fixed_dictionaries({}, optional={"email": any_json}) | any_json,
    "visitor_id": st.text(max_size=70),
    "comments": st.text(max_size=200),
}
bodies = st.fixed_dictionaries({}, optional=plausible) | any_json


def assert_no_partial_lead():
    assert not Customer.objects.filter(leads__isnull=True).exists()
    assert not Lead.objects.filter(inquiries__isnull=True).exists()
    created = LeadEvent.objects.filter(kind=LeadEvent.Kind.CREATED).values("lead")
    assert not Lead.objects.exclude(pk__in=created).exists()


def in_rolled_back_transaction(check):
    with transaction.atomic():
        check()
        transaction.set_rollback(True)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_any_json_body_answers_without_a_server_error_and_leaves_no_partial_lead(
    provider_api, body
):
    def check():
        leads_before = Lead.objects.count()
        response = provider_api.post(
            "/api/v1/leads/", json.dumps(body), content_type="application/json"
        )
        assert response.status_code in (200, 201, 400), response.content
        if response.status_code == 400:
            assert Lead.objects.count() == leads_before
            assert response.json()
        else:
            assert Lead.objects.filter(pk=response.json()["id"]).exists()
        assert_no_partial_lead()

    in_rolled_back_transaction(check)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_mutated_adf_documents_answer_without_a_server_error(provider_api, data):
    document = bytearray(data.draw(st.sampled_from(SAMPLES)).read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        start = data.draw(st.integers(0, len(document)))
        end = data.draw(st.integers(start, min(len(document), start + 40)))
        action = data.draw(st.sampled_from(["delete", "duplicate", "insert"]))
        if action == "delete":
            del document[start:end]
        elif action == "duplicate":
            document[start:start] = document[start:end]
        else:
            document[start:start] = data.draw(st.binary(max_size=12))

    def check():
        response = provider_api.post(
            "/api/v1/leads/adf/", bytes(document), content_type="application/xml"
        )
        assert response.status_code in (200, 201, 400), response.content
        if response.status_code == 400:
            assert Lead.objects.count() == 0
            assert response.json()["detail"]
        else:
            assert {result["id"] for result in response.json()} <= set(
                Lead.objects.values_list("pk", flat=True)
            )
        assert_no_partial_lead()

    in_rolled_back_transaction(check)
