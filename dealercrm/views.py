"""Pages of the shared core: a person's notifications, the history of the scheduled work."""

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dealercrm.models import Notification
from dealercrm.selectors import (
    notifications_for_user,
    sweep_history,
    unread_notification_count,
)
from dealercrm.services import notifications_mark_read

NOTIFICATIONS_PER_PAGE = 50


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
