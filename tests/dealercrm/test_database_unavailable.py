"""A database that cannot answer (a restart, a failover, a lock held too long) gives the client
a 503 to retry after a few seconds, and the request leaves nothing behind."""

import json
from unittest import mock

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError

from dealercrm.models import Customer
from leads.models import Inquiry, Lead, LeadEvent

LEAD = {"source": "website", "external_id": "form-1", "first_name": "Ann", "email": "a@example.com"}


def post_lead(client):
    return client.post("/api/v1/leads/", json.dumps(LEAD), content_type="application/json")


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("server closed the connection unexpectedly"),
        InterfaceError("connection already closed"),
    ],
)
def test_an_intake_cut_off_midway_answers_503_and_stores_nothing(provider_api, error):
    # The lead and its customer are written before the history: the error strikes in between.
    with mock.patch("leads.services._creation_events", side_effect=error):
        response = post_lead(provider_api)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "detail": "The database is unavailable for a moment. Nothing was saved; try again shortly."
    }
    assert (Lead.objects.count(), Customer.objects.count(), Inquiry.objects.count()) == (0, 0, 0)
    assert LeadEvent.objects.count() == 0


def test_the_same_lead_posted_again_once_the_database_is_back_is_stored_once(provider_api):
    with mock.patch(
        "leads.services._creation_events", side_effect=OperationalError("shutting down")
    ):
        assert post_lead(provider_api).status_code == 503

    response = post_lead(provider_api)

    assert response.status_code == 201
    assert response.json()["outcome"] == "created"
    assert Lead.objects.count() == 1


def test_a_page_answers_a_standalone_503_page(client, salesperson):
    client.force_login(salesperson)
    with mock.patch(
        "leads.views.queue_for_user",
        side_effect=OperationalError("the database system is starting up"),
    ):
        response = client.get("/leads/queue/")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"Back in a moment" in response.content
    assert b"Nothing was saved" in response.content


def test_an_error_that_waiting_would_not_cure_stays_a_500(client, salesperson):
    client.raise_request_exception = False
    client.force_login(salesperson)
    with mock.patch("leads.views.queue_for_user", side_effect=IntegrityError("duplicate key")):
        response = client.get("/leads/queue/")

    assert response.status_code == 500
    assert "Retry-After" not in response.headers
