"""GET /health/: what a load balancer asks each app server before sending it requests."""

from unittest import mock

from django.db import OperationalError


def test_a_healthy_server_answers_200_with_each_check(client, db):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}
    assert "no-cache" in response.headers["Cache-Control"]
    assert "sessionid" not in response.cookies


def test_a_database_that_cannot_answer_makes_the_server_unhealthy(client, db):
    refused = mock.Mock(side_effect=OperationalError("connection refused"))
    with mock.patch.dict("dealercrm.views.HEALTH_CHECKS", {"database": refused}):
        response = client.get("/health/")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "unavailable: connection refused", "cache": "ok"},
    }


def test_a_cache_that_loses_what_it_stored_makes_the_server_unhealthy(client, db):
    with mock.patch("dealercrm.views.cache.get", return_value=None):
        response = client.get("/health/")

    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "cache": "unavailable: the cache did not return what was stored",
    }


def test_the_health_check_takes_only_get(client, db):
    assert client.post("/health/").status_code == 405
