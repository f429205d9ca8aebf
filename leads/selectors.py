"""Reads for lead pages and the API; each owns its whole loading plan."""

from django.db.models import Prefetch

from leads.models import Activity, Lead, LeadEvent
from leads.permissions import get_lead_for_user_or_404, lead_queryset_for_user


def lead_list_for_user(user):
    """Leads the user may see, newest first, with what a list row shows."""
    return (
        lead_queryset_for_user(user)
        .select_related("customer", "owner", "team", "close_reason")
        .order_by("-created_at", "-id")
    )


def lead_detail_for_user(user, pk):
    """One lead with its customer, history and activities, or 404 (see permissions)."""
    queryset = Lead.objects.select_related(
        "customer", "owner", "team", "close_reason"
    ).prefetch_related(
        Prefetch(
            "events",
            queryset=LeadEvent.objects.select_related("actor", "from_owner", "to_owner", "reason"),
        ),
        Prefetch("activities", queryset=Activity.objects.select_related("actor")),
    )
    return get_lead_for_user_or_404(user, pk, queryset)
