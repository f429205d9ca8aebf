"""Reads for lead pages and the API; each owns its whole loading plan."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Max, Min, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce

from dealercrm.models import LEAD_OWNER_ROLES, StaffProfile
from leads.models import OPEN_STATUSES, Activity, Lead, LeadEvent, LeadStatus, WebEvent
from leads.permissions import get_lead_for_user_or_404, lead_queryset_for_user


def lead_list_for_user(user):
    """Leads the user may see, newest first, with what a list row shows."""
    return (
        lead_queryset_for_user(user)
        .select_related("customer", "owner", "team", "close_reason")
        .order_by("-created_at", "-id")
    )


def leads_disqualified_at_intake_for_user(user):
    """The audit list: leads intake disqualified by itself (junk), newest first, each with the
    reason's note (`intake_note`). Kept so that a person can return a real customer to work."""
    closing = LeadEvent.objects.filter(
        lead=OuterRef("pk"),
        to_status=LeadStatus.DISQUALIFIED,
        actor__isnull=True,
        actor_label="intake",
    ).order_by("-at", "-id")
    return (
        lead_queryset_for_user(user)
        .filter(status=LeadStatus.DISQUALIFIED)
        .filter(Exists(closing))
        .annotate(intake_note=Subquery(closing.values("note")[:1]))
        .select_related("customer", "close_reason", "team")
        .order_by("-created_at", "-id")
    )


def lead_detail_for_user(user, pk):
    """One lead with its customer, history, activities, inquiries and the customer's website
    profile (`lead.web_profile`), or 404 (see permissions)."""
    queryset = Lead.objects.select_related(
        "customer", "owner", "team", "close_reason"
    ).prefetch_related(
        Prefetch(
            "events",
            queryset=LeadEvent.objects.select_related("actor", "from_owner", "to_owner", "reason"),
        ),
        Prefetch("activities", queryset=Activity.objects.select_related("actor")),
        "inquiries",
    )
    lead = get_lead_for_user_or_404(user, pk, queryset)
    lead.web_profile = web_profile_for_customer(lead.customer_id, top_vehicles=3)
    return lead


@dataclass(frozen=True)
class WebProfile:
    """What a customer did on the dealer's website, all visits linked to them."""

    sessions: int = 0
    page_views: int = 0
    vehicles_viewed: int = 0
    forms_viewed: int = 0
    forms_submitted: int = 0
    chats: int = 0
    call_clicks: int = 0
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    top_vehicles: tuple = ()  # ((label, views), ...), most viewed first

    @property
    def is_empty(self):
        return self.last_seen_at is None


def web_profile_for_customer(customer_id, *, top_vehicles=0):
    """The customer's website profile in one aggregate query (plus one for `top_vehicles`
    make/model pairs when asked)."""
    events = WebEvent.objects.filter(customer_id=customer_id)
    Type = WebEvent.Type
    totals = events.aggregate(
        sessions=Count("session_key", distinct=True),
        page_views=Count("id", filter=Q(type__in=[Type.PAGE_VIEW, Type.VEHICLE_VIEW])),
        vehicles_viewed=Count("vehicle_key", filter=~Q(vehicle_key=""), distinct=True),
        forms_viewed=Count("id", filter=Q(type=Type.FORM_VIEW)),
        forms_submitted=Count("id", filter=Q(type=Type.FORM_SUBMIT)),
        chats=Count("id", filter=Q(type=Type.CHAT_STARTED)),
        call_clicks=Count("id", filter=Q(type=Type.CALL_CLICK)),
        first_seen_at=Min("occurred_at"),
        last_seen_at=Max("occurred_at"),
    )
    top = ()
    if top_vehicles and totals["last_seen_at"] is not None:
        top = tuple(
            (f"{row['make']} {row['model']}".strip(), row["views"])
            for row in events.filter(type=Type.VEHICLE_VIEW)
            .exclude(make="", model="")
            .values("make", "model")
            .annotate(views=Count("id"))
            .order_by("-views", "make", "model")[:top_vehicles]
        )
    return WebProfile(**totals, top_vehicles=top)


def open_leads_of(user_id_ref):
    """How many open leads the user `user_id_ref` (an OuterRef) owns, counted through the
    (owner, status) index: the cost follows the person's open leads, not the lead table."""
    count = (
        Lead.objects.filter(owner_id=user_id_ref, status__in=sorted(OPEN_STATUSES))
        .order_by()
        .values("owner_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(count), Value(0))


def staff_for_routing():
    """Everyone who can own leads, with their open leads (`open_leads`), for the routing staff
    page and API, by team and name, in one query."""
    return (
        StaffProfile.objects.filter(role__in=sorted(LEAD_OWNER_ROLES))
        .select_related("user", "team")
        .annotate(open_leads=open_leads_of(OuterRef("user_id")))
        .order_by("team__name", "user__first_name", "user__last_name", "user_id")
    )


def lead_owners():
    """People a lead can be given to: active sales and BDC staff, by name."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True, staff__active=True, staff__role__in=sorted(LEAD_OWNER_ROLES)
        )
        .order_by("first_name", "last_name", "username")
    )
