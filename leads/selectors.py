"""Reads for lead pages and the API; each owns its whole loading plan."""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import (
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat

from dealercrm.models import LEAD_OWNER_ROLES, StaffProfile, person_name
from dealercrm.vocabulary import HOT_FROM
from leads.filters import stale_leads
from leads.models import (
    OPEN_STATUSES,
    REASON_KIND_FOR_STATUS,
    Activity,
    FollowUpTask,
    Lead,
    LeadEvent,
    LeadStatus,
    Reason,
    WebEvent,
)
from leads.permissions import get_lead_for_user_or_404, lead_queryset_for_user, lead_visibility


def lead_list_for_user(user):
    """Leads the user may see, newest first, with what a list row shows."""
    return (
        lead_queryset_for_user(user)
        .select_related("customer", "owner", "team", "close_reason")
        .order_by("-created_at", "-id")
    )


def disqualified_leads_for_user(user):
    """The disqualification audit: disqualified leads, latest first, each with who closed it
    (`closed_by_name` for a person, `closed_by_label` for intake or a job) and their note
    (`closing_note`). Kept so that a manager can return a real customer to work."""
    closing = LeadEvent.objects.filter(
        lead=OuterRef("pk"), to_status=LeadStatus.DISQUALIFIED
    ).order_by("-at", "-id")
    return (
        lead_queryset_for_user(user)
        .filter(status=LeadStatus.DISQUALIFIED)
        .annotate(
            closing_note=Subquery(closing.values("note")[:1]),
            closed_by_label=Subquery(closing.values("actor_label")[:1]),
            closed_by_name=Subquery(
                closing.annotate(
                    name=Concat("actor__first_name", Value(" "), "actor__last_name")
                ).values("name")[:1]
            ),
        )
        .select_related("customer", "close_reason", "team")
        .order_by("-closed_at", "-id")
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
        .select_related("staff")
        .order_by("first_name", "last_name", "username")
    )


# The queue's order of urgency (issue: the right next action must be obvious). Lower is sooner.
URGENCY_FIRST_RESPONSE, URGENCY_RESURFACED, URGENCY_HOT, URGENCY_OVERDUE, URGENCY_DUE_TODAY = range(
    5
)
URGENCY_REST = 9


def _next_open_task(field_name):
    return Subquery(
        FollowUpTask.objects.filter(lead=OuterRef("pk"), status=FollowUpTask.Status.OPEN)
        .order_by("due_on", "id")
        .values(field_name)[:1]
    )


def queue_for_user(user, today):
    """The person's open leads, most urgent first: a first response still owed (soonest
    deadline first), then customers who came back by themselves, hot scores, leads with an
    overdue task and leads with a task due `today`; then the rest by their next task.

    Each lead carries `urgency`, `next_task_due` and `next_task_title`. The rows come through the
    (owner, status) index, so the cost follows the person's open leads, not the lead table.
    """
    return (
        Lead.objects.filter(owner=user, status__in=sorted(OPEN_STATUSES))
        .select_related("customer")
        .annotate(
            next_task_due=_next_open_task("due_on"),
            next_task_title=_next_open_task("title"),
        )
        .annotate(
            urgency=Case(
                When(status=LeadStatus.NEW, then=Value(URGENCY_FIRST_RESPONSE)),
                When(resurfaced_at__isnull=False, then=Value(URGENCY_RESURFACED)),
                When(score__gte=HOT_FROM, then=Value(URGENCY_HOT)),
                When(next_task_due__lt=today, then=Value(URGENCY_OVERDUE)),
                When(next_task_due=today, then=Value(URGENCY_DUE_TODAY)),
                default=Value(URGENCY_REST),
                output_field=IntegerField(),
            )
        )
        .order_by(
            "urgency",
            F("first_response_due_at").asc(nulls_last=True),
            F("resurfaced_at").desc(nulls_last=True),
            F("next_task_due").asc(nulls_last=True),
            "-score",
            "created_at",
            "id",
        )
    )


def queue_counters(user, today):
    """The numbers above the queue, in two queries: the person's open leads by what they need,
    their team's pool, and their open tasks overdue and due today."""
    mine = Q(owner=user)
    leads = Lead.objects.filter(lead_visibility(user), status__in=sorted(OPEN_STATUSES)).aggregate(
        open=Count("pk", filter=mine),
        first_response=Count("pk", filter=mine & Q(status=LeadStatus.NEW)),
        resurfaced=Count("pk", filter=mine & Q(resurfaced_at__isnull=False)),
        hot=Count("pk", filter=mine & Q(score__gte=HOT_FROM)),
        stale=Count("pk", filter=mine & stale_leads()),
        pool=Count("pk", filter=Q(owner__isnull=True)),
    )
    tasks = FollowUpTask.objects.filter(
        assignee=user, status=FollowUpTask.Status.OPEN, due_on__lte=today
    ).aggregate(
        overdue=Count("pk", filter=Q(due_on__lt=today)),
        due_today=Count("pk", filter=Q(due_on=today)),
    )
    return {**leads, **tasks}


@dataclass
class TimelineEntry:
    """One line of a lead's story, whatever it came from."""

    at: datetime
    kind: str  # css-friendly: call, email, sms, chat, meeting, note, event, web, inquiry
    title: str
    detail: str = ""
    actor: str = ""
    automated: bool = False
    short_call: bool = False
    tags: list = field(default_factory=list)


# A customer's website history can be long; the lead page shows their latest visits.
TIMELINE_WEB_EVENTS = 300


def lead_timeline(lead):
    """The lead's whole story, newest first: history events, activities (automated ones
    marked, short calls flagged), inquiries, and the customer's website visits (one entry per
    session). Reads the history, activities and inquiries `lead_detail_for_user` prefetched,
    plus one query for the website events."""
    entries = [_event_entry(event) for event in lead.events.all()]
    entries += [_activity_entry(activity) for activity in lead.activities.all()]
    entries += [
        TimelineEntry(
            at=inquiry.received_at,
            kind="inquiry",
            title=f"Inquiry via {inquiry.source}",
            detail=f"{inquiry.get_payload_format_display()} · {inquiry.get_outcome_display()}",
        )
        for inquiry in lead.inquiries.all()
    ]
    entries += _web_entries(lead.customer_id)
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


def _event_entry(event):
    Kind = LeadEvent.Kind
    title = event.get_kind_display()
    if event.kind == Kind.ASSIGNED:
        to = event.to_owner
        title = f"Assigned to {person_name(to)}" if to else "To the pool"
    elif event.kind in (Kind.STATUS_CHANGED, Kind.REOPENED) and event.to_status:
        title = f"{title}: {event.get_from_status_display()} → {event.get_to_status_display()}"
    elif event.kind == Kind.APPOINTMENT_SET:
        title = f"Appointment set for {event.note}"
    details = [str(event.reason)] if event.reason_id else []
    if event.cause:
        details.append(event.get_cause_display())
    if event.note and event.kind != Kind.APPOINTMENT_SET:
        details.append(event.note)
    # The customer came back: to a quiet lead (the note says what they did), or to a closed
    # one, which was returned to work for it.
    comeback = event.kind == Kind.RESURFACED or event.cause == LeadEvent.ReopenCause.RESURFACING
    return TimelineEntry(
        at=event.at,
        kind="event",
        title=title,
        detail=" · ".join(details),
        actor=event.actor_name,
        automated=event.actor_id is None,
        tags=["resurfaced"] if comeback else [],
    )


def _activity_entry(activity):
    parts = [activity.get_kind_display()]
    if activity.kind != Activity.Kind.NOTE:
        parts.append(activity.get_direction_display().lower())
    if activity.outcome:
        parts.append(activity.get_outcome_display().lower())
    if activity.duration_seconds is not None:
        minutes, seconds = divmod(activity.duration_seconds, 60)
        parts.append(f"{minutes}:{seconds:02d} min")
    actor = activity.actor
    return TimelineEntry(
        at=activity.occurred_at,
        kind=activity.kind,
        title=" · ".join(parts),
        detail=activity.body,
        actor=person_name(actor) if actor else "",
        automated=activity.automated,
        short_call=activity.is_short_call,
        tags=["customer responded"] if activity.customer_responded else [],
    )


def _web_entries(customer_id):
    """The customer's latest website events, one entry per visit (session)."""
    events = (
        WebEvent.objects.filter(customer_id=customer_id)
        .order_by("-occurred_at", "-id")
        .only("type", "make", "model", "session_key", "occurred_at")[:TIMELINE_WEB_EVENTS]
    )
    visits = {}
    for event in events:
        visit = visits.setdefault(event.session_key, {"at": event.occurred_at, "events": []})
        visit["at"] = min(visit["at"], event.occurred_at)
        visit["events"].append(event)
    return [_visit_entry(visit["at"], visit["events"]) for visit in visits.values()]


def _visit_entry(at, events):
    Type = WebEvent.Type
    pages = sum(1 for event in events if event.type in (Type.PAGE_VIEW, Type.VEHICLE_VIEW))
    vehicles = []
    for event in reversed(events):
        label = f"{event.make} {event.model}".strip()
        if event.type == Type.VEHICLE_VIEW and label and label not in vehicles:
            vehicles.append(label)
    actions = sorted(
        {event.get_type_display().lower() for event in events}
        - {Type.PAGE_VIEW.label.lower(), Type.VEHICLE_VIEW.label.lower()}
    )
    details = []
    if vehicles:
        details.append("viewed " + ", ".join(vehicles))
    if actions:
        details.append(", ".join(actions))
    return TimelineEntry(
        at=at,
        kind="web",
        title=f"Website visit · {pages} page{'s' if pages != 1 else ''}",
        detail="; ".join(details),
    )


def other_leads_of_customer(user, lead):
    """The customer's other leads, newest first, each with `visible` (may `user` open it)."""
    return (
        Lead.objects.filter(customer_id=lead.customer_id)
        .exclude(pk=lead.pk)
        .select_related("owner")
        .annotate(visible=ExpressionWrapper(lead_visibility(user), output_field=BooleanField()))
        .order_by("-created_at", "-id")
    )


def open_tasks_of_lead(lead):
    return lead.tasks.filter(status=FollowUpTask.Status.OPEN).order_by("due_on", "id")


def closing_reasons():
    """The reasons a person can pick when a lead is lost or disqualified."""
    return Reason.objects.filter(
        active=True, scope=Reason.Scope.SALES, kind__in=sorted(REASON_KIND_FOR_STATUS.values())
    ).order_by("kind", "ordering", "label")


def staff_workload(today):
    """Everyone who can own leads, with their open leads, open tasks and overdue tasks
    (`open_leads`, `open_tasks`, `overdue_tasks`), for the team board, in one query. The
    overdue share is overdue / open tasks."""
    open_tasks = FollowUpTask.objects.filter(
        assignee_id=OuterRef("user_id"), status=FollowUpTask.Status.OPEN
    ).order_by()

    def count(tasks):
        return Coalesce(
            Subquery(tasks.values("assignee_id").annotate(n=Count("pk")).values("n")), Value(0)
        )

    return (
        StaffProfile.objects.filter(role__in=sorted(LEAD_OWNER_ROLES), active=True)
        .select_related("user", "team")
        .annotate(
            open_leads=open_leads_of(OuterRef("user_id")),
            open_tasks=count(open_tasks),
            overdue_tasks=count(open_tasks.filter(due_on__lt=today)),
        )
        .order_by("team__name", "user__first_name", "user__last_name", "user_id")
    )
