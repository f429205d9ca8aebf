"""With REDIS_URL every request reads the shared cache (rate-limit counters, permissions): a
Redis server restarting or failing over gives the client a 503 to retry, as a database that
cannot answer does, not a 500 (bench/load_faults.py found the 500 with Redis stopped)."""

import json
from unittest import mock

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from leads.models import Lead

LEAD = {"source": "website", "external_id": "form-1", "first_name": "Ann", "email": "a@example.com"}


@pytest.mark.parametrize(
    "error",
    [
        RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        RedisTimeoutError("Timeout reading from socket"),
    ],
)
def test_an_intake_whose_rate_limit_cannot_be_counted_answers_503(provider_api, error):
    with mock.patch("dealercrm.ratelimits.get_usage", side_effect=error):
        response = provider_api.post(
            "/api/v1/leads/", json.dumps(LEAD), content_type="application/json"
        )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "detail": "The application's cache is unavailable for a moment; try again shortly."
    }
    assert Lead.objects.count() == 0


def test_a_page_whose_permissions_cannot_be_read_answers_a_standalone_503_page(client, salesperson):
    client.force_login(salesperson)
    with mock.patch(
        "leads.views.queue_for_user", side_effect=RedisConnectionError("Connection refused.")
    ):
        response = client.get("/leads/queue/")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert b"cache is unavailable" in response.content
