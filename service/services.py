"""The only writers of a service opportunity's stage, status and value, of lost sales and of
their recaptures.

Every function runs in one transaction, locks the opportunity row first (then the loss, then the
recapture: one fixed order), checks the change, saves with `update_fields` and appends a
ServiceEvent. `by` names who acts: a User, or a label such as "sweep:service-recapture" or
"api:dms" for a job or an integration. `at` defaults to now; imports, the demo and tests give it.
"""

import logging
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.formats import money_text
from dealercrm.models import Role, Vehicle, person_name
from dealercrm.selectors import customer_matching
from dealercrm.services import customer_create, notification_send
from leads.models import Lead, Reason
from leads.recycling import customer_back_to_sales
from service.errors import (
    InvalidIssue,
    InvalidLoss,
    InvalidOpportunity,
    InvalidStage,
    OpportunityClosed,
    RecaptureClosed,
)
from service.models import (
    STAGE_ORDER,
    VISIT_STAGES,
    CorrectiveAction,
    CustomerIssue,
    Recapture,
    ServiceEvent,
    ServiceLoss,
    ServiceOpportunity,
    ServiceSettings,
    Stage,
)

logger = logging.getLogger(__name__)

Event = ServiceLoss.Event
# Losses that end the opportunity whatever the amount: the car is not coming, or not staying.
CLOSING_EVENTS = frozenset({Event.APPOINTMENT_CANCELLED, Event.NO_SHOW, Event.ORDER_CANCELLED})
# An appointment can be missed or cancelled only before the car is in.
BEFORE_CHECK_IN = frozenset({Stage.PLANNED, Stage.BOOKED})
# Work the customer said no to, which can be sold again later (as opposed to a missed
# appointment, which is rebooked).
DECLINED_WORK = frozenset({Event.ORDER_CANCELLED, Event.SCOPE_REDUCED, Event.QUOTE_DECLINED})
SALES_LEAD_JOB = "service:visit"


def _actor(by):
    if isinstance(by, AbstractBaseUser):
        return {"actor": by, "actor_label": ""}
    if isinstance(by, str) and by.strip():
        return {"actor": None, "actor_label": by.strip()[:64]}
    raise InvalidOpportunity("Every change needs an actor: a person or a named job.")


def _person(by, what):
    """Losses and follow-up outcomes are told by a person, who is kept on the row."""
    if not isinstance(by, AbstractBaseUser):
        raise InvalidOpportunity(f"{what} is recorded by a person, not by {by!r}.")
    return by


def _record(opportunity, kind, by, at, summary, **fields):
    return ServiceEvent.objects.create(
        opportunity=opportunity, kind=kind, at=at, summary=summary[:300], **_actor(by), **fields
    )


def money(value, label="amount"):
    """`value` as a Decimal with cents; InvalidOpportunity naming `label` when it is not a
    non-negative amount."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise InvalidOpportunity(f"The {label} {value!r} is not an amount of money.") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidOpportunity(f"The {label} must be zero or more, not {value}.")
    if amount >= Decimal("100000000"):
        raise InvalidOpportunity(f"The {label} {value} is too large.")
    return amount


def _items(items):
    """Work lines as stored: [{"description", "amount"}], amounts as strings with cents."""
    lines = []
    for number, item in enumerate(items or (), start=1):
        if isinstance(item, str):
            item = {"description": item}
        description = str(item.get("description", "")).strip()
        if not description:
            raise InvalidOpportunity(f"Work line {number} has no description.")
        line = {"description": description[:200]}
        if item.get("amount") not in (None, ""):
            line["amount"] = str(money(item["amount"], f"amount of work line {number}"))
        lines.append(line)
    return lines


def _stage_index(stage):
    try:
        return STAGE_ORDER.index(stage)
    except ValueError:
        allowed = ", ".join(STAGE_ORDER)
        raise InvalidStage(f"'{stage}' is not a stage; the stages are {allowed}.") from None


# --- customers and vehicles ------------------------------------------------------------------


def customer_for_service(
    *, first_name="", last_name="", email="", phone="", phone_region=None, at=None
):
    """The customer with this e-mail, else this phone (normalised as intake does, read in
    `phone_region` when written without a country code), or a new one.
    Raises InvalidContactDetail naming a bad e-mail or phone, and InvalidOpportunity when there
    is neither: a service customer must be reachable."""
    email, phone = normalize_email(email or ""), normalize_phone(phone or "", phone_region)
    if not (email or phone):
        raise InvalidOpportunity("The customer needs an e-mail address or a phone number.")
    customer = customer_matching(email=email, phone=phone)
    if customer is not None:
        return customer
    return customer_create(
        first_name=first_name, last_name=last_name, email=email, phone=phone, at=at
    )


def vehicle_for_customer(*, customer, vin="", year=None, make="", model="", mileage=None):
    """The customer's vehicle: by VIN (a car bought from someone else now belongs to this
    customer), else by year, make and model among their cars, else a new one. None when nothing
    describes a car."""
    vin = (vin or "").strip().upper()
    make, model = (make or "").strip(), (model or "").strip()
    if not (vin or make or model):
        return None
    vehicle = Vehicle.objects.filter(vin=vin).first() if vin else None
    if vehicle is None and not vin:
        vehicle = (
            Vehicle.objects.filter(owner=customer, make__iexact=make, model__iexact=model)
            .filter(year=year)
            .first()
        )
    if vehicle is None:
        return Vehicle.objects.create(
            vin=vin, year=year, make=make, model=model, mileage=mileage, owner=customer
        )
    changed = []
    if vehicle.owner_id != customer.pk:
        vehicle.owner = customer
        changed.append("owner")
    if mileage and mileage > (vehicle.mileage or 0):
        vehicle.mileage = mileage
        changed.append("mileage")
    if changed:
        vehicle.save(update_fields=changed)
    return vehicle


# --- opportunities -------------------------------------------------------------------------


@transaction.atomic
def opportunity_create(
    *,
    customer,
    source,
    title,
    estimated_value,
    by,
    vehicle=None,
    stage=Stage.PLANNED,
    advisor=None,
    booked_for=None,
    items=(),
    external_id="",
    mileage=None,
    recovers=None,
    at=None,
):
    """Open a service opportunity and record it. Created at a visit stage (a walk-in, a job an
    external system reports checked in), it is a visit at once: the customer's declined work is
    shown to the advisor and an old or high-mileage car makes a sales lead (see
    `opportunity_advance`). Raises InvalidOpportunity or InvalidStage naming what was wrong."""
    at = at or timezone.now()
    if source not in ServiceOpportunity.Source.values:
        sources = ", ".join(ServiceOpportunity.Source.values)
        raise InvalidOpportunity(f"'{source}' is not a source; the sources are {sources}.")
    _stage_index(stage)
    if stage in (Stage.DELIVERED, Stage.FOLLOWED_UP):
        raise InvalidStage("A new opportunity cannot start delivered; record the work first.")
    title = (title or "").strip()
    if not title:
        raise InvalidOpportunity("Say what the work is (a title).")
    if vehicle is not None and vehicle.owner_id not in (None, customer.pk):
        raise InvalidOpportunity(f"The vehicle {vehicle} belongs to another customer.")
    if advisor is not None:
        _check_advisor(advisor)
    value = money(estimated_value, "estimated value")
    opportunity = ServiceOpportunity.objects.create(
        customer=customer,
        vehicle=vehicle,
        source=source,
        external_id=(external_id or "").strip()[:100],
        title=title[:200],
        items=_items(items),
        stage=stage,
        initial_value=value,
        estimated_value=value,
        advisor=advisor,
        booked_for=booked_for,
        mileage=mileage,
        created_at=at,
        checked_in_at=at if stage in VISIT_STAGES else None,
        recovers=recovers,
    )
    what = f"Opened from {opportunity.get_source_display().lower()}: {title}"
    if recovers is not None:
        what += f" (wins back the sale lost on {timezone.localtime(recovers.at):%b %-d})"
    _record(opportunity, ServiceEvent.Kind.CREATED, by, at, what, to_stage=stage)
    if stage in VISIT_STAGES:
        _visit(opportunity, by, at)
    return opportunity


def _check_advisor(user):
    profile = getattr(user, "staff", None)
    service_roles = (Role.SERVICE_ADVISOR, Role.SERVICE_MANAGER)
    if not (user.is_active and profile and profile.active and profile.role in service_roles):
        raise InvalidOpportunity(f"{person_name(user)} is not an active service advisor.")


@transaction.atomic
def opportunity_open(
    *,
    source,
    by,
    customer=None,
    contact=None,
    vehicle=None,
    car=None,
    external_id="",
    stage=Stage.PLANNED,
    at=None,
    **fields,
):
    """Open an opportunity together with its customer and car, so that a refusal anywhere
    leaves no customer or car behind: the `customer` given, or the one `contact` (names,
    e-mail, phone; see customer_for_service) finds or creates; the `vehicle` given, or the one
    `car` (vin, year, make, model, mileage) describes. `fields` go to opportunity_create.

    A system's booking, visit or quote comes with an `external_id`, and is opened once per
    source and id: a later post of a known one writes nothing for its contact and only moves
    it forward when it names a later stage (a booking reported checked in), so a resend
    changes nothing. Returns (opportunity, created)."""
    external_id = (external_id or "").strip()[:100]
    known = ServiceOpportunity.objects.filter(source=source, external_id=external_id)
    if external_id and (existing := known.first()) is not None:
        return _received_again(existing, stage, by, at), False
    try:
        with transaction.atomic():
            if customer is None:
                customer = customer_for_service(**(contact or {}), at=at)
            if vehicle is None and car:
                vehicle = vehicle_for_customer(customer=customer, **car)
            opportunity = opportunity_create(
                customer=customer,
                vehicle=vehicle,
                source=source,
                external_id=external_id,
                stage=stage,
                by=by,
                at=at,
                **fields,
            )
        return opportunity, True
    except IntegrityError:
        # The same booking posted twice at once: the other request opened it.
        existing = known.first() if external_id else None
        if existing is None:
            raise
        return _received_again(existing, stage, by, at), False


def _received_again(opportunity, stage, by, at):
    if opportunity.is_open and _stage_index(stage) > _stage_index(opportunity.stage):
        return opportunity_advance(opportunity=opportunity, to_stage=stage, by=by, at=at)
    return opportunity


@transaction.atomic
def opportunity_advance(*, opportunity, to_stage, by, actual_value=None, mileage=None, at=None):
    """Move an open opportunity forward to `to_stage` (stages may be skipped, never gone back
    to). Checking in makes it a visit: the customer's declined work comes back to the advisor
    and an old or high-mileage car makes a sales lead. Delivering wins it, at `actual_value`
    (the estimate when not given). Raises OpportunityClosed or InvalidStage."""
    at = at or timezone.now()
    opportunity = ServiceOpportunity.objects.select_for_update().get(pk=opportunity.pk)
    # A delivered job is still followed up (a call after the visit); a lost one moves no more.
    following_up = opportunity.status == ServiceOpportunity.Status.WON and (
        to_stage == Stage.FOLLOWED_UP
    )
    if not (opportunity.is_open or following_up):
        raise OpportunityClosed(
            f"This opportunity is {opportunity.get_status_display().lower()}; it moves no more."
        )
    if _stage_index(to_stage) <= _stage_index(opportunity.stage):
        raise InvalidStage(
            f"An opportunity {opportunity.get_stage_display().lower()} cannot move to "
            f"'{Stage(to_stage).label.lower()}': stages only move forward."
        )
    from_stage = opportunity.stage
    opportunity.stage = to_stage
    changed = ["stage"]
    if mileage is not None:
        opportunity.mileage = mileage
        changed.append("mileage")
    became_visit = to_stage in VISIT_STAGES and opportunity.checked_in_at is None
    if became_visit:
        opportunity.checked_in_at = at
        changed.append("checked_in_at")
    if to_stage in (Stage.DELIVERED, Stage.FOLLOWED_UP) and opportunity.delivered_at is None:
        opportunity.status = ServiceOpportunity.Status.WON
        opportunity.delivered_at = opportunity.closed_at = at
        opportunity.actual_value = money(
            opportunity.estimated_value if actual_value is None else actual_value, "actual value"
        )
        changed += ["status", "delivered_at", "closed_at", "actual_value"]
    opportunity.save(update_fields=changed)
    summary = f"{Stage(from_stage).label} → {Stage(to_stage).label}"
    if opportunity.actual_value is not None and "actual_value" in changed:
        summary += f", invoiced {money_text(opportunity.actual_value)}"
    _record(
        opportunity,
        ServiceEvent.Kind.STAGE,
        by,
        at,
        summary,
        from_stage=from_stage,
        to_stage=to_stage,
    )
    if became_visit:
        _visit(opportunity, by, at)
    return opportunity


def _visit(opportunity, by, at):
    """What a check-in brings: the customer's declined work back in front of the advisor, the
    car's odometer, and a sales lead for an old or high-mileage car."""
    vehicle = opportunity.vehicle
    if vehicle is not None and opportunity.mileage and opportunity.mileage > (vehicle.mileage or 0):
        vehicle.mileage = opportunity.mileage
        vehicle.save(update_fields=["mileage"])
    for loss in _declined_before(opportunity):
        recapture_open(
            loss,
            Recapture.Kind.CHECK_IN,
            at=at,
            visit=opportunity,
            assignee=opportunity.advisor,
            summary=f"Checked in today; {loss.get_event_display().lower()} on "
            f"{timezone.localtime(loss.at):%b %-d}: {_declined_text(loss)}",
        )
    _sales_lead_for_visit(opportunity, at)


def _declined_before(visit):
    """The customer's lost sales still to win back, from their other opportunities."""
    return (
        ServiceLoss.objects.filter(
            opportunity__customer_id=visit.customer_id,
            recovery=ServiceLoss.Recovery.PENDING,
        )
        .exclude(opportunity=visit)
        .select_related("opportunity", "reason")
        .order_by("at", "id")
    )


def _declined_text(loss):
    lines = [item.get("description", "") for item in loss.declined_items if item]
    work = ", ".join(line for line in lines if line) or loss.opportunity.title
    return f"{work} ({money_text(loss.amount)})"


def _sales_lead_for_visit(visit, at):
    """A car old enough or driven far enough (ServiceSettings) is a reason to talk about the
    next one: its owner goes back to sales, to their previous salesperson first, once per
    visit."""
    vehicle = visit.vehicle
    if vehicle is None or visit.sales_lead_id is not None:
        return None
    rules = ServiceSettings.current()
    today = timezone.localdate(at)
    km = max(visit.mileage or 0, vehicle.mileage or 0)
    reasons = []
    age = today.year - vehicle.year if vehicle.year else None
    if rules.sales_lead_vehicle_age_years and age and age >= rules.sales_lead_vehicle_age_years:
        reasons.append(f"{age} years old")
    if rules.sales_lead_mileage_km and km >= rules.sales_lead_mileage_km:
        reasons.append(f"{km:,} km")
    if not reasons:
        return None
    why = f"In for service with a {' '.join(str(vehicle).split())} ({', '.join(reasons)})"
    lead, created = customer_back_to_sales(
        customer=visit.customer,
        vehicle=vehicle,
        channel=Lead.Channel.SERVICE,
        by=SALES_LEAD_JOB,
        why=why,
        at=at,
    )
    visit.sales_lead = lead
    visit.save(update_fields=["sales_lead"])
    verb = "Sales lead made" if created else "Sales told on their open lead"
    _record(visit, ServiceEvent.Kind.SALES_LEAD, SALES_LEAD_JOB, at, f"{verb}: {why}")
    return lead


# --- losses --------------------------------------------------------------------------------


def _service_reason(reason):
    if isinstance(reason, str):
        found = Reason.objects.filter(kind=Reason.Kind.SERVICE_LOSS, code=reason).first()
        if found is None:
            codes = ", ".join(
                Reason.objects.filter(kind=Reason.Kind.SERVICE_LOSS, active=True)
                .order_by("ordering")
                .values_list("code", flat=True)
            )
            raise InvalidLoss(f"'{reason}' is not a reason for a lost service sale; use {codes}.")
        reason = found
    if reason.kind != Reason.Kind.SERVICE_LOSS or not reason.active:
        raise InvalidLoss(f"'{reason.label}' is not a reason for a lost service sale.")
    return reason


@transaction.atomic
def loss_log(*, opportunity, event, reason, by, amount=None, note="", declined_items=(), at=None):
    """Record that a service sale was lost, in whole or in part: what happened (`event`), why
    (`reason`, a service-loss reason or its code), the money (`amount`, the opportunity's
    current estimate when not given) and the declined work.

    A no-show, a cancelled appointment or a cancelled order closes the opportunity; so does a
    declined quote for its whole value. A reduced scope, or part of a quote declined, lowers the
    estimate and keeps the opportunity open. The loss comes back by itself on its follow-up day
    (ServiceSettings). Raises OpportunityClosed or InvalidLoss naming what was wrong; nothing is
    written then."""
    at = at or timezone.now()
    _person(by, "A lost sale")
    opportunity = ServiceOpportunity.objects.select_for_update().get(pk=opportunity.pk)
    if not opportunity.is_open:
        raise OpportunityClosed(
            f"This opportunity is {opportunity.get_status_display().lower()}; "
            "a loss is logged on open work only."
        )
    if event not in Event.values:
        raise InvalidLoss(f"'{event}' is not a kind of loss; use {', '.join(Event.values)}.")
    if event in (Event.NO_SHOW, Event.APPOINTMENT_CANCELLED) and (
        opportunity.stage not in BEFORE_CHECK_IN
    ):
        raise InvalidLoss(
            f"The car is {opportunity.get_stage_display().lower()}: there is no appointment to "
            f"miss or cancel. Log a cancelled order or a reduced scope instead."
        )
    reason = _service_reason(reason)
    note = (note or "").strip()
    if reason.requires_note and not note:
        raise InvalidLoss(f"Reason '{reason.label}' needs a note saying what happened.")
    value = opportunity.estimated_value
    amount = value if amount in (None, "") else money(amount, "amount lost")
    if amount > value:
        raise InvalidLoss(
            f"The amount lost ({money_text(amount)}) is more than the work is worth "
            f"({money_text(value)})."
        )
    whole = event in CLOSING_EVENTS or amount == value
    if event == Event.SCOPE_REDUCED and whole:
        raise InvalidLoss(
            "A reduced scope leaves some work: the amount lost must be below "
            f"{money_text(value)}. When all of it is gone, log a cancelled order or a declined "
            "quote."
        )
    rules = ServiceSettings.current()
    loss = ServiceLoss.objects.create(
        opportunity=opportunity,
        event=event,
        reason=reason,
        note=note,
        amount=amount,
        whole=whole,
        declined_items=_items(declined_items),
        at=at,
        logged_by=by,
        advisor_id=opportunity.advisor_id,
        follow_up_on=rules.follow_up_on(event, timezone.localdate(at)),
    )
    if whole:
        opportunity.status = ServiceOpportunity.Status.LOST
        opportunity.closed_at = at
        opportunity.save(update_fields=["status", "closed_at"])
    else:
        opportunity.estimated_value = value - amount
        opportunity.save(update_fields=["estimated_value"])
    summary = f"{loss.get_event_display()} ({reason.label}): {money_text(amount)} lost"
    summary += "" if whole else f", {money_text(opportunity.estimated_value)} still open"
    if note:
        summary += f". {note}"
    _record(opportunity, ServiceEvent.Kind.LOSS, by, at, summary, loss=loss)
    logger.info("service loss %s on opportunity %s: %s", loss.pk, opportunity.pk, summary)
    return loss


@transaction.atomic
def loss_parts_arrived(*, loss, by, at=None):
    """The parts the work was waiting for are in: the declined work comes back to the advisor
    today. Once per loss; returns the recapture, or None when it was already brought back for
    this (or the loss is closed)."""
    at = at or timezone.now()
    ServiceOpportunity.objects.select_for_update().get(pk=loss.opportunity_id)
    loss = ServiceLoss.objects.select_for_update().select_related("opportunity").get(pk=loss.pk)
    if loss.parts_arrived_at is not None or loss.recovery != ServiceLoss.Recovery.PENDING:
        return None
    loss.parts_arrived_at = at
    loss.save(update_fields=["parts_arrived_at"])
    _record(
        loss.opportunity,
        ServiceEvent.Kind.PARTS_ARRIVED,
        by,
        at,
        f"Parts arrived for {_declined_text(loss)}",
        loss=loss,
    )
    return recapture_open(
        loss,
        Recapture.Kind.PARTS_ARRIVED,
        at=at,
        summary=f"Parts are in: offer {_declined_text(loss)} again",
    )


# --- recaptures ----------------------------------------------------------------------------


def _recapture_assignee(loss):
    """Who brings a lost sale back: the advisor it was lost by while they still work here,
    else the opportunity's advisor, else nobody (all advisors see unassigned follow-ups)."""
    for user in (loss.advisor, loss.opportunity.advisor):
        if user is None:
            continue
        profile = getattr(user, "staff", None)
        if user.is_active and profile is not None and profile.active:
            return user
    return None


def recapture_open(loss, kind, *, at, summary, campaign=None, visit=None, assignee=None):
    """Bring a lost sale back in front of someone, once per loss and kind (per campaign, per
    check-in): a task due today for `assignee` (by default who lost it), recorded on the lost
    opportunity and told to the assignee. Returns the Recapture, or None when this comeback
    was made before. Runs inside the caller's transaction."""
    assignee = assignee or _recapture_assignee(loss)
    try:
        with transaction.atomic():
            recapture = Recapture.objects.create(
                loss=loss,
                kind=kind,
                campaign=campaign,
                visit=visit,
                summary=summary[:300],
                assignee=assignee,
                due_on=timezone.localdate(at),
                created_at=at,
            )
    except IntegrityError:
        return None
    customer = loss.opportunity.customer
    _record(
        loss.opportunity,
        ServiceEvent.Kind.RECAPTURE,
        f"service:{kind}",
        at,
        f"{Recapture.Kind(kind).label}: {summary}",
        loss=loss,
    )
    if assignee is not None:
        url = reverse("service:opportunity", args=[(visit or loss.opportunity).pk])
        notification_send(
            recipient=assignee,
            kind="service_recapture",
            message=f"{customer}: {summary}"[:300],
            url=url,
            at=at,
        )
    return recapture


def _lock_recapture(recapture):
    """Lock in the fixed order: opportunity, loss, recapture."""
    ServiceOpportunity.objects.select_for_update().get(pk=recapture.loss.opportunity_id)
    loss = ServiceLoss.objects.select_for_update().get(pk=recapture.loss_id)
    recapture = Recapture.objects.select_for_update().get(pk=recapture.pk)
    if recapture.status != Recapture.Status.OPEN:
        raise RecaptureClosed(
            f"This follow-up is already {recapture.get_status_display().lower()}."
        )
    if loss.recovery != ServiceLoss.Recovery.PENDING:
        raise RecaptureClosed(
            f"This lost sale is already {loss.get_recovery_display().lower()}; "
            "nothing is left to follow up."
        )
    return loss, recapture


def _close_other_recaptures(loss, recapture, at, by):
    Recapture.objects.filter(loss=loss, status=Recapture.Status.OPEN).exclude(
        pk=recapture.pk
    ).update(status=Recapture.Status.CLOSED, done_at=at, done_by=by)


@transaction.atomic
def recapture_book(
    *, recapture, by, booked_for=None, estimated_value=None, title="", advisor=None, at=None
):
    """The customer said yes: a new booking wins the lost sale back (`recovers` it), for the
    lost amount unless told otherwise. The loss is won back, this follow-up is done and its
    other open follow-ups close. Returns the new opportunity. Raises RecaptureClosed."""
    at = at or timezone.now()
    _person(by, "A booking won back")
    loss, recapture = _lock_recapture(recapture)
    lost = loss.opportunity
    booking = opportunity_create(
        customer=lost.customer,
        vehicle=lost.vehicle,
        source=ServiceOpportunity.Source.BOOKING,
        title=title or f"Won back: {_declined_text(loss)}",
        estimated_value=loss.amount if estimated_value in (None, "") else estimated_value,
        stage=Stage.BOOKED,
        advisor=advisor or (by if _is_advisor(by) else lost.advisor),
        booked_for=booked_for,
        items=loss.declined_items,
        recovers=loss,
        by=by,
        at=at,
    )
    loss.recovery = ServiceLoss.Recovery.RECOVERED
    loss.save(update_fields=["recovery"])
    recapture.status = Recapture.Status.BOOKED
    recapture.booking = booking
    recapture.done_at = at
    recapture.done_by = by
    recapture.save(update_fields=["status", "booking", "done_at", "done_by"])
    _close_other_recaptures(loss, recapture, at, by)
    when = f" for {timezone.localtime(booked_for):%b %-d %H:%M}" if booked_for else ""
    _record(
        lost,
        ServiceEvent.Kind.RECOVERED,
        by,
        at,
        f"Won back ({recapture.get_kind_display().lower()}): booked{when}, "
        f"{money_text(booking.estimated_value)}",
        loss=loss,
    )
    return booking


def _is_advisor(user):
    profile = getattr(user, "staff", None)
    return profile is not None and profile.role in (Role.SERVICE_ADVISOR, Role.SERVICE_MANAGER)


@transaction.atomic
def recapture_decline(*, recapture, by, give_up=False, note="", at=None):
    """The customer said no this time. With `give_up` the lost sale is not followed up any
    more (its other open follow-ups close); otherwise later comebacks (parts, a campaign, the
    next visit) may still bring it back. Raises RecaptureClosed."""
    at = at or timezone.now()
    _person(by, "A follow-up's outcome")
    loss, recapture = _lock_recapture(recapture)
    recapture.status = Recapture.Status.DECLINED
    recapture.done_at = at
    recapture.done_by = by
    recapture.save(update_fields=["status", "done_at", "done_by"])
    summary = f"{recapture.get_kind_display()}: the customer declined again"
    if give_up:
        loss.recovery = ServiceLoss.Recovery.GIVEN_UP
        loss.save(update_fields=["recovery"])
        _close_other_recaptures(loss, recapture, at, by)
        summary += "; not followed up any more"
    note = (note or "").strip()
    if note:
        summary += f". {note}"
    _record(loss.opportunity, ServiceEvent.Kind.RECAPTURE_DONE, by, at, summary, loss=loss)
    return recapture


# --- customer issues and corrective actions ------------------------------------------------


@transaction.atomic
def issue_open(*, customer, kind, summary, by, details="", vehicle=None, opportunity=None, at=None):
    """Record a problem a customer has with their vehicle or with the service."""
    summary = (summary or "").strip()
    if not summary:
        raise InvalidIssue("Say what the problem is (a summary).")
    if kind not in CustomerIssue.Kind.values:
        raise InvalidIssue(f"'{kind}' is not a kind of issue; use vehicle or service.")
    if opportunity is not None and opportunity.customer_id != customer.pk:
        raise InvalidIssue("That service opportunity is another customer's.")
    return CustomerIssue.objects.create(
        customer=customer,
        vehicle=vehicle,
        opportunity=opportunity,
        kind=kind,
        summary=summary[:200],
        details=(details or "").strip(),
        opened_by=by,
        opened_at=at or timezone.now(),
    )


@transaction.atomic
def issue_resolve(*, issue, by, resolution, at=None):
    """Close a customer's issue with what was done. Raises InvalidIssue when it is resolved
    already or no resolution is given."""
    issue = CustomerIssue.objects.select_for_update().get(pk=issue.pk)
    if issue.status == CustomerIssue.Status.RESOLVED:
        raise InvalidIssue("This issue is resolved already.")
    resolution = (resolution or "").strip()
    if not resolution:
        raise InvalidIssue("Say how the issue was resolved.")
    issue.status = CustomerIssue.Status.RESOLVED
    issue.resolution = resolution
    issue.resolved_by = by
    issue.resolved_at = at or timezone.now()
    issue.save(update_fields=["status", "resolution", "resolved_by", "resolved_at"])
    return issue


def corrective_action_add(*, reason, action, started_on, by, note=""):
    """Record what was done against a loss reason, from `started_on`."""
    reason = _service_reason(reason)
    action = (action or "").strip()
    if not action:
        raise InvalidLoss("Say what the corrective action is.")
    return CorrectiveAction.objects.create(
        reason=reason, action=action[:200], started_on=started_on, note=note.strip(), created_by=by
    )
