"""Answers for requests that reach the application while the database (or the shared cache)
cannot serve them."""

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.shortcuts import render
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# How long a client should wait before trying again. A PostgreSQL restart or a failover is over
# in seconds; a lead provider's retry queue honours the header.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "The database is unavailable for a moment. Nothing was saved; try again shortly."
CACHE_UNAVAILABLE = "The application's cache is unavailable for a moment; try again shortly."


def unavailable_response(request, detail=UNAVAILABLE):
    """503 with Retry-After: JSON under /api/, a page elsewhere. The page is standalone: the
    site's layout reads the signed-in user, which needs the database."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": detail}, status=503)
    else:
        response = render(request, "503.html", {"detail": detail}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turns a database that cannot answer into a 503 the client can retry, instead of a 500.

    OperationalError and InterfaceError are what waiting may cure: no connection, a server
    shutting down or starting up, a deadlock or serialization failure, SQLite's "database is
    locked". Every write runs in a transaction, so the failed request left no partial rows.
    Django closes a broken connection when the request ends (`conn_health_checks`), so the next
    request reconnects: the application recovers by itself once the database is back. Other
    database errors (an IntegrityError, a bad query) stay 500s: waiting would not fix them.

    With REDIS_URL every request reads the cache (rate-limit counters, permissions) from a
    Redis server: a Redis restart or failover is answered the same way, and redis-py connects
    again on the next command."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if isinstance(exc, RedisConnectionError | RedisTimeoutError):
            logger.warning("cache unavailable for %s %s: %s", request.method, request.path, exc)
            return unavailable_response(request, CACHE_UNAVAILABLE)
        if not isinstance(exc, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable for %s %s: %s", request.method, request.path, exc)
        return unavailable_response(request)
