"""Pages of the shared core: a person's notifications, the history of the scheduled work, and the
health check that load balancers and orchestrators call."""

from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dealercrm.filters import AuditFilter
from dealercrm.middleware import RETRY_AFTER_SECONDS
from dealercrm.models import Notification
from dealercrm.ratelimits import sign_in_failed, sign_in_wait
from dealercrm.selectors import (
    audit_actors,
    audit_entries,
    notifications_for_user,
    sweep_history,
    unread_notification_count,
)
from dealercrm.services import notifications_mark_read

NOTIFICATIONS_PER_PAGE = 50
AUDIT_ENTRIES_PER_PAGE = 50


class SignInView(LoginView):
    """Django's sign-in, throttled: after a few failed attempts for one username (or many from
    one address) the form refuses further tries for a while, whatever the password, so that
    passwords cannot be guessed at speed. Successful sign-ins do not count."""

    def post(self, request, *args, **kwargs):
        wait = sign_in_wait(request)
        if wait:
            response = self.render_to_response(
                self.get_context_data(form=self.form_class(request), wait_minutes=-(-wait // 60)),
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        sign_in_failed(self.request)
        return super().form_invalid(form)


@login_required
def notification_list(request):
    page = Paginator(notifications_for_user(request.user), NOTIFICATIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "dealercrm/notifications.html",
        {"page": page, "unread": unread_notification_count(request.user)},
    )


@login_required
def notification_unread(request):
    """The unread count in the navigation: loaded by htmx after the page and refreshed every
    30 seconds, so that no page pays a query for it."""
    return render(
        request,
        "dealercrm/notifications.html#unread-badge",
        {"unread": unread_notification_count(request.user)},
    )


@login_required
def notification_open(request, pk):
    """Mark one notification read and go where it leads (only ever a page of this site)."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications_mark_read(user=request.user, ids=[notification.pk])
    safe = url_has_allowed_host_and_scheme(
        notification.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(notification.url if notification.url and safe else "notifications")


@require_POST
@login_required
def notifications_read_all(request):
    notifications_mark_read(user=request.user)
    return redirect("notifications")


@login_required
@permission_required("dealercrm.view_sweeprun", raise_exception=True)
def sweeps(request):
    """Scheduled work: each sweep with its schedule, how its last run went, and its latest
    runs with what they did and what went wrong."""
    return render(request, "dealercrm/sweeps.html", {"history": sweep_history()})


@login_required
@permission_required("dealercrm.view_auditentry", raise_exception=True)
def audit_log(request):
    """Sensitive changes, latest first: routing rules and opening hours, shifts and capacity,
    reassignments and returns to work, each with who, when, and every value before and after."""
    filters = AuditFilter(request.GET, queryset=audit_entries(), actors=audit_actors())
    page = Paginator(filters.qs, AUDIT_ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "dealercrm/audit.html", {"filters": filters, "page": page})


def _database_check():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache_check():
    """The cache holds the rate-limit counters and cached permissions; with REDIS_URL it is the
    Redis server that the task clusters share too."""
    cache.set("health:probe", 1, 10)
    if cache.get("health:probe") != 1:
        raise RuntimeError("the cache did not return what was stored")


HEALTH_CHECKS = {"database": _database_check, "cache": _cache_check}


@never_cache
@require_GET
def health(request):
    """200 when this app server can serve requests, 503 (with Retry-After) when the database or
    the cache cannot answer. Reads no session and needs no login: load balancers call it."""
    checks = {}
    for name, check in HEALTH_CHECKS.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # whatever the failure, this server cannot serve now
            checks[name] = f"unavailable: {exc}".strip()
    healthy = all(result == "ok" for result in checks.values())
    response = JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )
    if not healthy:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
