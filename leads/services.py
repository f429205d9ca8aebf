"""The only writers of a lead's status, owner and life-cycle timestamps.

Every function runs in one transaction, locks the lead row first (one lead per call, so there is
no lock order to keep), checks the move, saves with `update_fields` and appends a LeadEvent.

`by` names who acts: a User for a person, or a short label such as "sweep:stale" or
"intake:cars.com" for a job or an integration. History keeps the two apart.
`at` is when it happened; it defaults to now and is given by imports, the demo seed and tests.
"""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from dealercrm.models import AuditEntry, LifecycleDate, lead_owner_refusal, person_name
from dealercrm.services import audit_record
from leads.errors import (
    ActorRequired,
    InvalidActivity,
    InvalidAppointment,
    InvalidAssignee,
    InvalidReason,
    InvalidTransition,
    LeadAlreadyClaimed,
    LeadChangedMeanwhile,
    LeadIsClosed,
    ReasonRequired,
    TaskClosed,
)
from leads.followup import (
    followup_plan_start,
    followup_task_add,
    followup_tasks_cancel,
    followup_tasks_follow_owner,
)
from leads.models import (
    CLOSED_STATUSES,
    QUALIFIED_STATUSES,
    REASON_KIND_FOR_STATUS,
    REOPENABLE_STATUSES,
    TRANSITIONS,
    Activity,
    FirstContactBand,
    FollowUpTask,
    Lead,
    LeadEvent,
    LeadStatus,
    Reason,
)

MAX_CALL_SECONDS = 8 * 3600


def _actor(by):
    """The history fields naming who acts; checked before anything is written."""
    if isinstance(by, AbstractBaseUser):
        return {"actor": by, "actor_label": ""}
    if isinstance(by, str) and by.strip():
        return {"actor": None, "actor_label": by.strip()[:64]}
    raise ActorRequired("Every change to a lead needs an actor: a person or a named job.")


def _lock(lead, seen=""):
    """The lead's row, locked. With `seen` (the `edit_token` the person's page showed), refuse
    when someone else reassigned or moved the lead since: LeadChangedMeanwhile."""
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if seen and seen != locked.edit_token:
        raise LeadChangedMeanwhile(_what_changed(locked, seen))
    return locked


def _what_changed(lead, seen):
    _, _, seen_owner = seen.partition(":")
    last = (
        LeadEvent.objects.filter(
            lead=lead,
            kind__in=[
                LeadEvent.Kind.STATUS_CHANGED,
                LeadEvent.Kind.ASSIGNED,
                LeadEvent.Kind.REOPENED,
            ],
        )
        .select_related("actor", "to_owner")
        .order_by("-at", "-id")
        .first()
    )
    by = f" by {last.actor_name} at {timezone.localtime(last.at):%H:%M}" if last else ""
    if seen_owner != str(lead.owner_id or ""):
        to = person_name(lead.owner) if lead.owner_id else "the pool"
        what = f"was reassigned to {to}{by}"
    else:
        what = f"was marked {lead.get_status_display().lower()}{by}"
    return f"This lead {what} while you had it open. Nothing was saved; look at it again first."


def _record(lead, kind, actor, at, **fields):
    return LeadEvent.objects.create(lead=lead, kind=kind, at=at, **actor, **fields)


def _set_status(lead, to_status, at):
    """Write the status and the fields that follow it; returns the names to save. A status
    change is CRM activity: the lead is no longer quiet."""
    lead.status = to_status
    lead.status_changed_at = at
    lead.last_activity_at = max(lead.last_activity_at, at)
    lead.stale_tier = 0
    if to_status in CLOSED_STATUSES:
        lead.closed_at = at
    else:
        lead.closed_at = None
        lead.close_reason = None
    if to_status == LeadStatus.CONTACTED and lead.first_contacted_at is None:
        _first_contact_set(lead, at)
    if to_status != LeadStatus.APPOINTMENT:
        lead.appointment_at = None
    elif lead.appointment_set_at is None:
        lead.appointment_set_at = at
    if to_status in QUALIFIED_STATUSES and lead.qualified_at is None:
        lead.qualified_at = at
    _tasks_follow_status(lead, to_status, at)
    if to_status == LeadStatus.SOLD:
        _anniversary_add(lead, at)
    return [
        "status",
        "status_changed_at",
        "last_activity_at",
        "stale_tier",
        "closed_at",
        "close_reason",
        "first_contacted_at",
        "first_response_seconds",
        "first_contact_band",
        "appointment_at",
        "appointment_set_at",
        "qualified_at",
    ]


def _first_contact_set(lead, at):
    """Make `at` the lead's first personal contact, with how soon it came for the speed-to-lead
    report; returns the names to save."""
    lead.first_contacted_at = at
    lead.first_response_seconds, lead.first_contact_band = FirstContactBand.of(lead.created_at, at)
    return ["first_contacted_at", "first_response_seconds", "first_contact_band"]


def _tasks_follow_status(lead, to_status, at):
    """A contacted lead gets its follow-up plan; a closed one needs no more tasks; an
    appointment that is no longer on is no longer a task."""
    if to_status in CLOSED_STATUSES:
        followup_tasks_cancel(lead, at, f"Lead {to_status}")
    elif to_status == LeadStatus.CONTACTED:
        followup_plan_start(lead, at)
    elif to_status != LeadStatus.APPOINTMENT:
        followup_tasks_cancel(
            lead, at, "Appointment no longer on", kinds=[FollowUpTask.Kind.APPOINTMENT]
        )


def _anniversary_add(lead, at):
    """A sale gives the customer a purchase anniversary, which the recycling sweep brings back
    to sales a year on."""
    sold_on = timezone.localdate(at)
    try:
        anniversary = sold_on.replace(year=sold_on.year + 1)
    except ValueError:  # sold on February 29
        anniversary = sold_on.replace(year=sold_on.year + 1, day=28)
    LifecycleDate.objects.get_or_create(
        customer_id=lead.customer_id,
        kind=LifecycleDate.Kind.PURCHASE_ANNIVERSARY,
        date=anniversary,
        defaults={"note": f"Bought {lead.vehicle_label or 'a vehicle'} on {sold_on:%b %-d, %Y}"},
    )


def _check_assignee(owner):
    refusal = lead_owner_refusal(owner, getattr(owner, "staff", None))
    if refusal:
        raise InvalidAssignee(refusal)


def _check_reason(to_status, reason, note):
    kind = REASON_KIND_FOR_STATUS.get(to_status)
    if kind is None:
        if reason is not None:
            raise InvalidReason(f"A move to '{to_status}' takes no reason.")
        return
    if reason is None:
        raise ReasonRequired(f"Marking a lead {to_status} needs a reason.")
    if not reason.active or reason.scope != Reason.Scope.SALES or reason.kind != kind:
        raise InvalidReason(
            f"'{reason.label}' is not a reason a lead can be marked {to_status} for."
        )
    if reason.requires_note and not note.strip():
        raise ReasonRequired(f"The reason '{reason.label}' needs a note saying what happened.")


def lead_build(*, customer, source, at, **fields):
    """An unsaved new lead, for `lead_create` or `leads_create_many`."""
    return Lead(
        customer=customer,
        source=source,
        status=LeadStatus.NEW,
        created_at=at,
        created_hour=timezone.localtime(at).hour,
        status_changed_at=at,
        last_activity_at=at,
        **fields,
    )


# No savepoint: intake calls this inside its own transaction, and a failure here fails the whole
# intake anyway (two round trips saved per lead).
@transaction.atomic(savepoint=False)
def lead_create(*, customer, source, by, at=None, routing=None, **fields):
    """Create a new lead for `customer` and record its creation.

    Intake (parsing, matching, duplicates, scoring, routing) calls this once it knows the
    customer; `fields` are Lead fields such as channel, vehicle and trade-in details. With
    `routing` (a decision from leads.routing) the lead is born with the owner or pool, team and
    first-response deadline it names, and its history records the assignment and why.
    """
    actor = _actor(by)
    at = at or timezone.now()
    lead = lead_build(customer=customer, source=source, at=at, **fields)
    if routing is not None:
        lead_route_apply(lead, routing)
    lead.save(force_insert=True)
    LeadEvent.objects.bulk_create(_creation_events(lead, actor, routing))
    return lead


def lead_route_apply(lead, routing):
    """Set a new, unsaved lead's owner, team and first-response deadline from `routing`."""
    if routing.owner is not None:
        lead.owner = routing.owner
    else:
        lead.owner_id = routing.owner_id
    lead.assigned_at = lead.created_at if routing.owner_id else None
    for name, value in routing.lead_fields().items():
        setattr(lead, name, value)


def _creation_events(lead, actor, routing):
    """A new lead's first history: created, and routed (with the decision) when it was."""
    events = [
        LeadEvent(
            lead=lead, kind=LeadEvent.Kind.CREATED, at=lead.created_at, to_status=LeadStatus.NEW
        )
    ]
    if routing is not None:
        events.append(
            LeadEvent(
                lead=lead,
                kind=LeadEvent.Kind.ASSIGNED,
                at=lead.created_at,
                to_owner_id=lead.owner_id,
                note=routing.explanation,
                routing=lead.routing,
            )
        )
    for event in events:
        event.actor = actor["actor"]
        event.actor_label = actor["actor_label"]
    return events


@transaction.atomic
def leads_create_many(leads, *, by, routings=None):
    """Insert many leads built with `lead_build` (their customers saved; routed with
    `lead_route_apply`, the `routings` in the same order) and record each one's creation and
    routing, as `lead_create` would, in two statements: for imports, where a lead at a time
    costs a dozen."""
    actor = _actor(by)
    leads = Lead.objects.bulk_create(leads)
    routings = routings or [None] * len(leads)
    LeadEvent.objects.bulk_create(
        [
            event
            for lead, routing in zip(leads, routings, strict=True)
            for event in _creation_events(lead, actor, routing)
        ]
    )
    return leads


@transaction.atomic
def lead_assign(*, lead, owner, by, note="", at=None, routing=None, only_from_pool=False):
    """Give an open lead to `owner` (None puts it back in its team's pool).

    The lead joins the owner's team. With `routing` (a decision from leads.routing) the lead
    also takes the decision's team, first-response deadline and explanation, and its history
    keeps the decision. `only_from_pool` makes it a claim: it succeeds only while the lead has
    no owner, so that of two people claiming at once one gets it and the other is told.
    Raises LeadIsClosed for a closed lead (return it to work first), InvalidAssignee for
    someone who is inactive or not in sales, and LeadAlreadyClaimed. Assigning a lead to the
    person who already has it, without a new decision, changes nothing and records nothing.
    """
    actor = _actor(by)
    at = at or timezone.now()
    if owner is not None:
        _check_assignee(owner)
    lead = _lock(lead)
    if not lead.is_open:
        raise LeadIsClosed(f"Lead {lead.pk} is {lead.status}; return it to work before assigning.")
    if only_from_pool and lead.owner_id is not None:
        raise LeadAlreadyClaimed(f"{person_name(lead.owner)} claimed this lead first.")
    if lead.owner_id == (owner.pk if owner else None) and routing is None:
        return lead
    from_owner_id = lead.owner_id
    lead.owner = owner
    lead.assigned_at = at if owner else None
    update_fields = ["owner", "assigned_at", "team", "updated_at"]
    owner_team_id = getattr(getattr(owner, "staff", None), "team_id", None)
    if routing is not None:
        for name, value in routing.lead_fields().items():
            setattr(lead, name, value)
        update_fields += ["routing", "first_response_due_at", "first_response_warned_at"]
        note = note or routing.explanation
    elif owner_team_id:
        lead.team_id = owner_team_id
    lead.save(update_fields=update_fields)
    followup_tasks_follow_owner(lead)
    _record(
        lead,
        LeadEvent.Kind.ASSIGNED,
        actor,
        at,
        from_owner_id=from_owner_id,
        to_owner=owner,
        note=note,
        routing=lead.routing if routing is not None else None,
    )
    return lead


@transaction.atomic
def lead_change_status(*, lead, to_status, by, reason=None, note="", at=None, seen=""):
    """Move a lead along TRANSITIONS.

    Lost and disqualified need a `reason` of the matching kind from the sales catalog (and a
    note when the reason asks for one). Closing sets `closed_at`; moving to contacted sets the
    first-contact time when none was recorded.
    Contacted starts the follow-up plan; closing cancels the open tasks.
    With `seen` (see `_lock`) a lead someone else changed meanwhile is refused.
    Raises InvalidTransition, ReasonRequired, InvalidReason or LeadChangedMeanwhile, and
    writes nothing then.
    """
    actor = _actor(by)
    at = at or timezone.now()
    to_status = LeadStatus(to_status)
    lead = _lock(lead, seen)
    from_status = lead.status
    allowed = TRANSITIONS[from_status]
    if to_status not in allowed:
        raise InvalidTransition(from_status, to_status, allowed)
    _check_reason(to_status, reason, note)
    update_fields = _set_status(lead, to_status, at)
    lead.close_reason = reason
    lead.save(update_fields=[*update_fields, "updated_at"])
    _record(
        lead,
        LeadEvent.Kind.STATUS_CHANGED,
        actor,
        at,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        note=note,
    )
    return lead


@transaction.atomic
def lead_reopen(*, lead, cause, by, note="", at=None, seen=""):
    """Return a lost or disqualified lead to work, recording why.

    `cause` is a LeadEvent.ReopenCause: a person, a disqualification audit, or resurfacing (the
    customer came back). A person or an audit must be a User. The lead goes back to the status
    it had when it was closed, so its progress is not lost. Its reason for closing stays in the
    history, and reports count the return as a correction.
    A lead that had been contacted gets a fresh follow-up plan; a resurfaced one is marked so
    the queue puts it near the top until someone reaches the customer (`leads.resurfacing`
    tells its salesperson). A return by a person or an audit goes to the audit log.
    Raises InvalidTransition for a lead that is open or sold, LeadChangedMeanwhile (see `_lock`).
    """
    actor = _actor(by)
    at = at or timezone.now()
    cause = LeadEvent.ReopenCause(cause)
    if cause != LeadEvent.ReopenCause.RESURFACING and actor["actor"] is None:
        raise ActorRequired(f"Returning a lead to work by {cause.label.lower()} needs a person.")
    lead = _lock(lead, seen)
    from_status = lead.status
    if from_status not in REOPENABLE_STATUSES:
        raise InvalidTransition(from_status, "reopened", TRANSITIONS[from_status])
    closing = (
        LeadEvent.objects.filter(lead=lead, to_status=from_status)
        .exclude(from_status="")
        .order_by("-at", "-id")
        .values_list("from_status", flat=True)
        .first()
    )
    to_status = closing or (LeadStatus.CONTACTED if lead.first_contacted_at else LeadStatus.NEW)
    update_fields = _set_status(lead, to_status, at)
    if to_status != LeadStatus.NEW:
        followup_plan_start(lead, at)
    if cause == LeadEvent.ReopenCause.RESURFACING:
        lead.resurfaced_at = at
        update_fields.append("resurfaced_at")
    if cause == LeadEvent.ReopenCause.AUDIT and lead.audit_returned_at is None:
        lead.audit_returned_at = at
        update_fields.append("audit_returned_at")
    lead.save(update_fields=[*update_fields, "updated_at"])
    _record(
        lead,
        LeadEvent.Kind.REOPENED,
        actor,
        at,
        from_status=from_status,
        to_status=to_status,
        cause=cause,
        note=note,
    )
    if cause != LeadEvent.ReopenCause.RESURFACING:
        audit_record(
            by=by,
            action=AuditEntry.Action.LEAD_RETURNED,
            target=lead,
            changes={"status": (from_status, to_status), "cause": (None, cause.label)},
            note=note,
            at=at,
        )
    return lead


@transaction.atomic
def activity_log(
    *,
    lead,
    kind,
    by,
    direction=Activity.Direction.OUTBOUND,
    automated=False,
    duration_seconds=None,
    outcome="",
    customer_responded=False,
    body="",
    occurred_at=None,
    seen="",
):
    """Record a touch on a lead and keep the lead's timestamps current.

    A personal touch needs a person as `by`; an automated one names the integration that sent
    it. The first personal outbound touch sets the lead's first-contact time, and moves a new
    lead to contacted with a history event (which starts the follow-up plan); any personal
    outbound touch answers a resurfaced customer.
    Raises InvalidActivity, ActorRequired or LeadChangedMeanwhile and writes nothing then.
    """
    actor = _actor(by)
    occurred_at = occurred_at or timezone.now()
    if automated and actor["actor"] is not None:
        raise InvalidActivity("An automated activity is sent by an integration, not a person.")
    if not automated and actor["actor"] is None:
        raise InvalidActivity("A personal activity needs the person who made it.")
    if occurred_at > timezone.now() + timedelta(minutes=5):
        raise InvalidActivity("An activity cannot be logged in the future.")
    if duration_seconds is not None and not 0 <= duration_seconds <= MAX_CALL_SECONDS:
        raise InvalidActivity("A call lasts between 0 seconds and 8 hours.")
    lead = _lock(lead, seen)
    activity = Activity.objects.create(
        lead=lead,
        kind=kind,
        direction=direction,
        automated=automated,
        duration_seconds=duration_seconds,
        outcome=outcome,
        customer_responded=customer_responded,
        body=body,
        actor=actor["actor"],
        occurred_at=occurred_at,
    )
    update_fields = ["updated_at", *_touch_count(lead, activity)]
    if occurred_at > lead.last_activity_at:
        lead.last_activity_at = occurred_at
        lead.stale_tier = 0
        update_fields += ["last_activity_at", "stale_tier"]
    if activity.is_personal_outbound:
        if lead.resurfaced_at is not None:
            lead.resurfaced_at = None
            update_fields.append("resurfaced_at")
        if lead.status == LeadStatus.NEW:
            update_fields += _set_status(lead, LeadStatus.CONTACTED, occurred_at)
            _record(
                lead,
                LeadEvent.Kind.STATUS_CHANGED,
                actor,
                occurred_at,
                from_status=LeadStatus.NEW,
                to_status=LeadStatus.CONTACTED,
                note=f"First contact: {activity.get_kind_display().lower()}",
            )
        elif lead.first_contacted_at is None or occurred_at < lead.first_contacted_at:
            # A call logged late can still be the first one made.
            update_fields += _first_contact_set(lead, occurred_at)
    lead.save(update_fields=update_fields)
    return activity


def _touch_count(lead, activity):
    """Count `activity` on the lead for the reports (personal and automated touches, calls, the
    customer's first response); returns the names to save. The lead is locked, so plain
    increments are safe."""
    update_fields = []
    if activity.automated and activity.direction == Activity.Direction.OUTBOUND:
        # An integration also logs what the customer started (a tracked call): that is the
        # customer's response, not a message the dealership sent.
        lead.automated_touches += 1
        update_fields.append("automated_touches")
    elif activity.is_personal_outbound:
        lead.personal_touches += 1
        update_fields.append("personal_touches")
        if activity.kind == Activity.Kind.CALL:
            lead.calls += 1
            update_fields.append("calls")
    if activity.is_customer_response and (
        lead.responded_at is None or activity.occurred_at < lead.responded_at
    ):
        lead.responded_at = activity.occurred_at
        update_fields.append("responded_at")
    return update_fields


def leads_touch_counts_refresh(lead_ids, *, lead_model=Lead, activity_model=Activity):
    """Count again, from their activities, the touches and the first response of the leads
    `lead_ids` (all leads when None): after activities were inserted in bulk (the demo) or
    when the counts were added (a migration passes its historical models)."""
    activities = activity_model.objects.filter(lead=OuterRef("pk")).exclude(kind=Activity.Kind.NOTE)
    personal = activities.filter(automated=False, direction=Activity.Direction.OUTBOUND)
    responses = activities.filter(
        Q(customer_responded=True) | Q(direction=Activity.Direction.INBOUND)
    )

    def count(queryset):
        counted = queryset.values("lead").annotate(total=Count("pk")).values("total")
        return Coalesce(Subquery(counted), 0)

    leads = lead_model.objects.all()
    if lead_ids is not None:
        leads = leads.filter(pk__in=list(lead_ids))
    return leads.update(
        personal_touches=count(personal),
        calls=count(personal.filter(kind=Activity.Kind.CALL)),
        automated_touches=count(
            activities.filter(automated=True, direction=Activity.Direction.OUTBOUND)
        ),
        responded_at=Subquery(responses.order_by("occurred_at").values("occurred_at")[:1]),
    )


@transaction.atomic
def lead_set_appointment(*, lead, starts_at, by, note="", at=None, seen=""):
    """Book (or move) the customer's visit: the lead moves to appointment when it is not there
    yet, keeps the time, and gets an appointment task on that day for its owner (a moved
    appointment replaces the old task). History records the time, and the status change when
    there is one.
    Raises InvalidAppointment for a time in the past, InvalidTransition for a lead that cannot
    have an appointment (new: contact the customer first; closed), LeadChangedMeanwhile.
    """
    actor = _actor(by)
    at = at or timezone.now()
    if starts_at < at - timedelta(minutes=5):
        raise InvalidAppointment("The appointment time has passed; pick a time from now on.")
    lead = _lock(lead, seen)
    from_status = lead.status
    update_fields = ["appointment_at", "updated_at"]
    if from_status != LeadStatus.APPOINTMENT:
        if LeadStatus.APPOINTMENT not in TRANSITIONS[from_status]:
            raise InvalidTransition(from_status, LeadStatus.APPOINTMENT, TRANSITIONS[from_status])
        update_fields += _set_status(lead, LeadStatus.APPOINTMENT, at)
        _record(
            lead,
            LeadEvent.Kind.STATUS_CHANGED,
            actor,
            at,
            from_status=from_status,
            to_status=LeadStatus.APPOINTMENT,
            note=note,
        )
    followup_tasks_cancel(lead, at, "Appointment moved", kinds=[FollowUpTask.Kind.APPOINTMENT])
    lead.appointment_at = starts_at
    lead.save(update_fields=update_fields)
    when = timezone.localtime(starts_at)
    followup_task_add(
        lead,
        kind=FollowUpTask.Kind.APPOINTMENT,
        title=f"Appointment at {when:%H:%M}",
        due_on=when.date(),
        at=at,
    )
    _record(
        lead,
        LeadEvent.Kind.APPOINTMENT_SET,
        actor,
        at,
        note=f"{when:%a %b %-d, %H:%M}" + (f" · {note}" if note else ""),
    )
    return lead


@transaction.atomic
def followup_task_complete(*, task, by, kind, at=None, seen="", **activity):
    """Complete an open task by saying what was done: the touch is logged on the lead as an
    activity (see `activity_log`, which takes `activity`'s fields) and the task keeps it.
    Raises TaskClosed when the task was completed or cancelled meanwhile, and whatever
    `activity_log` raises; writes nothing then."""
    if isinstance(by, str):
        raise ActorRequired("A task is completed by the person who did it.")
    at = at or timezone.now()
    logged = activity_log(lead=task.lead, kind=kind, by=by, occurred_at=at, seen=seen, **activity)
    task = FollowUpTask.objects.select_for_update().get(pk=task.pk)
    if task.status != FollowUpTask.Status.OPEN:
        raise TaskClosed(f"This task is already {task.get_status_display().lower()}.")
    task.status = FollowUpTask.Status.DONE
    task.closed_at = at
    task.closed_by = by
    task.activity = logged
    task.save(update_fields=["status", "closed_at", "closed_by", "activity"])
    return task
