"""Rate limits: how often one address may post the public web form, how often one integration
may post to the intake endpoints, and how many failed sign-ins one username or address may make.

Counters live in the cache (django-ratelimit's fixed windows, incremented atomically), so
several app servers share them when the cache is Redis (REDIS_URL). Rates are settings
(RATE_LIMITS) because a busy site's website tracking or a broker's burst may need more.
"""

import logging

from django.conf import settings
from django_ratelimit import ALL
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger(__name__)


def _usage(request, limit, key, *, increment, scope=""):
    return get_usage(
        request,
        group=f"{limit}:{scope}",
        key=key,
        rate=settings.RATE_LIMITS[limit],
        method=ALL,
        increment=increment,
    )


def limit_count(request, limit, key, *, scope=""):
    """Count this request against `limit` (a name in RATE_LIMITS), with its own counter per
    `scope`; the seconds to wait when it went over, else None. `key` is a django-ratelimit key:
    "ip", "user", or a dotted path to a function of (group, request)."""
    usage = _usage(request, limit, key, increment=True, scope=scope)
    if usage["should_limit"]:
        logger.warning("rate limit %s reached by %s", limit, request.path)
        return max(1, usage["time_left"])
    return None


def limit_reached(request, limit, key):
    """The seconds to wait when `limit` is used up, without counting this request; else None.
    For limits counted on failures only (sign-ins), checked before the attempt."""
    usage = _usage(request, limit, key, increment=False)
    if usage["count"] >= usage["limit"]:
        return max(1, usage["time_left"])
    return None


def sign_in_username(group, request):
    """The counter key of sign-ins for one username, however it was typed."""
    return request.POST.get("username", "").strip().lower()


SIGN_IN_USERNAME = f"{__name__}.sign_in_username"


def sign_in_wait(request):
    """The seconds to wait before this username, or this address, may try to sign in again;
    None while failures stay under both limits."""
    return limit_reached(request, "sign_in_username", SIGN_IN_USERNAME) or limit_reached(
        request, "sign_in_address", "ip"
    )


def sign_in_failed(request):
    limit_count(request, "sign_in_username", SIGN_IN_USERNAME)
    limit_count(request, "sign_in_address", "ip")


class IntakeThrottle(BaseThrottle):
    """DRF's throttle hook over the same counters: per integration account and endpoint, at the
    `intake` rate. DRF answers 429 with Retry-After."""

    def allow_request(self, request, view):
        scope = getattr(view, "action", None) or view.__class__.__name__
        self.wait_seconds = limit_count(request, "intake", "user", scope=scope)
        return self.wait_seconds is None

    def wait(self):
        return self.wait_seconds
