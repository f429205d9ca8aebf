"""The intake pipeline: one inquiry from any channel in, one lead created or merged out.

normalise (E.164 phones, lower-case e-mails) → match the customer → repeat inquiry? → stitch
website visitors → score → create or merge → (route, once routing exists) → notify.

Every channel (JSON API, ADF/XML, website form, call tracking, CSV import) builds a
`leads.submission.Submission` and calls `lead_intake`. One inquiry is received once per
(source, external id); an ADF `resend` of something already received changes nothing.
"""

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.errors import InvalidContactDetail
from dealercrm.models import Customer
from dealercrm.services import customer_create, notification_send
from leads.models import (
    OPEN_STATUSES,
    Activity,
    Inquiry,
    Lead,
    LeadEvent,
    LeadSource,
    LeadStatus,
    Reason,
    ScoreWeight,
)
from leads.scoring import ScoreFacts, lead_score
from leads.selectors import web_profile_for_customer
from leads.services import activity_log, lead_change_status, lead_create
from leads.tracking import visitors_link

logger = logging.getLogger(__name__)

INTAKE = "intake"
# A new inquiry from a customer with an open lead this recent is the same shopping trip.
REPEAT_WINDOW = timedelta(days=30)
# The first personal contact is due this soon; routing rules will set their own.
FIRST_RESPONSE_DUE = timedelta(minutes=5)

_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)


class Outcome:
    CREATED = "created"
    MERGED = "merged"
    ALREADY_RECEIVED = "already_received"


@dataclass(frozen=True)
class IntakeResult:
    lead: Lead
    outcome: str

    @property
    def created(self):
        return self.outcome == Outcome.CREATED


@dataclass(frozen=True)
class Contact:
    """The contact details that work, and the problems with those that were sent but do not."""

    email: str
    phone: str
    issues: list


def _first_valid(raw_values, normalize, field):
    problems = []
    for raw in raw_values:
        try:
            value = normalize(raw)
        except InvalidContactDetail as problem:
            problems.append({"field": field, "value": raw, "problem": str(problem)})
            continue
        if value:
            return value, []
    # Only the first bad value is worth a salesperson's attention.
    return "", problems[:1]


def _contact(submission):
    email, email_issues = _first_valid(submission.emails, normalize_email, "email")
    phone, phone_issues = _first_valid(
        submission.phones,
        lambda raw: normalize_phone(raw, submission.phone_region or None),
        "phone",
    )
    return Contact(email=email, phone=phone, issues=email_issues + phone_issues)


def _junk(submission, contact):
    """(reason code, note) when the inquiry is obviously unusable, else None. Conservative on
    purpose: a real customer disqualified here waits for an audit to come back."""
    if submission.honeypot_filled:
        return "spam", "The website form's hidden field was filled in, as bots do."
    if not contact.email and not contact.phone:
        sent = "; ".join(issue["problem"] for issue in contact.issues)
        return "invalid_contact", f"No working phone or e-mail ({sent or 'none was sent'})."
    name = f"{submission.first_name} {submission.last_name}"
    if _LINK.search(name) or "@" in name:
        return "spam", "The name holds a web or e-mail address."
    if len(_LINK.findall(submission.comments)) > 2:
        return "spam", "The comments hold more than two links."
    return None


def _lock_identity(submission, contact):
    """Serialise concurrent intake of the same inquiry or the same person, so that two posts at
    once make one lead, not two. Keys are locked in sorted order, so two intakes never wait on
    each other crosswise. SQLite needs nothing: its IMMEDIATE transactions already run writers
    one at a time."""
    if connection.vendor != "postgresql":
        return
    keys = sorted(
        key
        for key in (
            f"inquiry:{submission.source}:{submission.external_id}"
            if submission.external_id
            else "",
            f"email:{contact.email}" if contact.email else "",
            f"phone:{contact.phone}" if contact.phone else "",
        )
        if key
    )
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(key)) FROM unnest(%s::text[]) AS key",
                [keys],
            )


def _already_received(submission):
    if not submission.external_id:
        return None
    return (
        Inquiry.objects.select_related("lead")
        .filter(source=submission.source, external_id=submission.external_id)
        .first()
    )


def _match_customer(contact):
    """The customer with this e-mail, else with this phone; the newest when several."""
    if not (contact.email or contact.phone):
        return None
    match = Q(pk__in=[])
    if contact.email:
        match |= Q(email=contact.email)
    if contact.phone:
        match |= Q(phone=contact.phone)
    candidates = list(Customer.objects.filter(match).order_by("-created_at", "-id")[:20])
    for candidate in candidates:
        if contact.email and candidate.email == contact.email:
            return candidate
    return candidates[0] if candidates else None


def _customer_complete(customer, submission, contact):
    """Fill what the customer record lacks from the inquiry; never overwrite what is known."""
    known = {
        "first_name": submission.first_name.strip()[:100],
        "last_name": submission.last_name.strip()[:100],
        "email": contact.email,
        "phone": contact.phone,
        "postal_code": submission.postal_code.strip()[:16],
    }
    changed = [name for name, value in known.items() if value and not getattr(customer, name)]
    for name in changed:
        setattr(customer, name, known[name])
    for channel in ("email", "sms", "phone"):
        if getattr(submission, f"consent_{channel}") and not getattr(
            customer, f"consent_{channel}"
        ):
            setattr(customer, f"consent_{channel}", True)
            changed.append(f"consent_{channel}")
    if changed:
        customer.save(update_fields=[*changed, "updated_at"])


def _vehicle_fields(prefix, vehicle, names):
    if vehicle is None or vehicle.is_empty():
        return {}
    return {f"{prefix}_{name}": getattr(vehicle, name) for name in names}


VEHICLE_NAMES = ("year", "make", "model", "trim", "vin", "stock", "condition")
TRADEIN_NAMES = ("year", "make", "model", "vin", "mileage")


def _score(lead_fields, contact, profile, source, now):
    weights = dict(ScoreWeight.objects.values_list("code", "points"))
    return lead_score(
        ScoreFacts(
            now=now,
            has_valid_phone=bool(contact.phone),
            has_valid_email=bool(contact.email),
            specific_vehicle=bool(
                lead_fields.get("vehicle_vin") or lead_fields.get("vehicle_stock")
            ),
            has_trade_in=any(lead_fields.get(f"tradein_{name}") for name in TRADEIN_NAMES),
            purchase_horizon=lead_fields.get("purchase_horizon", ""),
            sessions=profile.sessions,
            forms_viewed=profile.forms_viewed,
            vehicles_viewed=profile.vehicles_viewed,
            last_seen_at=profile.last_seen_at,
            source_name=source.name if source else "",
            source_points=source.quality_points if source else 0,
        ),
        weights,
    )


def _inquiry_record(lead, submission, channel, outcome, received_by, at):
    return Inquiry.objects.create(
        lead=lead,
        source=submission.source,
        external_id=submission.external_id,
        channel=channel,
        payload_format=submission.payload_format,
        outcome=outcome,
        received_at=at,
        requested_at=submission.requested_at,
        received_by=received_by,
        raw_payload=submission.raw_payload,
        warnings=list(submission.warnings),
    )


def lead_intake(submission, *, received_by=None, at=None):
    """Receive one inquiry: create a lead, merge a repeat inquiry into the customer's open
    lead, or recognise an inquiry already received. Returns an IntakeResult.

    `received_by` is the integration account that posted it (None for forms and imports).
    Contact details that do not parse are kept on the lead as `contact_issues`; an inquiry
    with no working contact, a filled honeypot or spam patterns becomes a lead disqualified
    with its reason (kept, and recoverable by an audit). All or nothing: a failure leaves no
    customer, lead, history or inquiry behind.
    """
    at = at or timezone.now()
    try:
        with transaction.atomic():
            return _intake(submission, received_by, at)
    except IntegrityError:
        # Another request received the same inquiry between our check and our insert; on
        # PostgreSQL the advisory lock makes this a backstop only.
        existing = _already_received(submission)
        if existing is None:
            raise
        return IntakeResult(existing.lead, Outcome.ALREADY_RECEIVED)


def _intake(submission, received_by, at):
    contact = _contact(submission)
    _lock_identity(submission, contact)
    existing = _already_received(submission)
    if existing is not None:
        return IntakeResult(existing.lead, Outcome.ALREADY_RECEIVED)

    junk = _junk(submission, contact)
    # Spam never joins a real customer's history; it gets a customer record of its own.
    customer = None if junk else _match_customer(contact)
    if customer is not None:
        recent = (
            Lead.objects.select_for_update(of=("self",))
            .select_related("owner")
            .filter(customer=customer, created_at__gte=at - REPEAT_WINDOW)
            .order_by("-created_at", "-id")
        )
        if submission.resend:
            lead = recent.first()
            if lead is not None:
                return IntakeResult(lead, Outcome.ALREADY_RECEIVED)
        lead = recent.filter(status__in=OPEN_STATUSES).first()
        if lead is not None:
            return _merge(lead, customer, submission, contact, received_by, at)
        _customer_complete(customer, submission, contact)
    else:
        customer = customer_create(
            first_name=submission.first_name[:100],
            last_name=submission.last_name[:100],
            email=contact.email,
            phone=contact.phone,
            postal_code=submission.postal_code.strip()[:16],
            consent_email=submission.consent_email,
            consent_sms=submission.consent_sms,
            consent_phone=submission.consent_phone,
            at=at,
        )
    return _create(customer, submission, contact, junk, received_by, at)


def _create(customer, submission, contact, junk, received_by, at):
    source = LeadSource.objects.filter(key=submission.source, active=True).first()
    channel = submission.channel or (source.channel if source else Lead.Channel.OTHER)
    if not junk:
        visitors_link(
            customer=customer,
            visitor_id=submission.visitor_id,
            email=contact.email,
            phone=contact.phone,
        )
    profile = web_profile_for_customer(customer.pk)
    fields = {
        **_vehicle_fields("vehicle", submission.vehicle, VEHICLE_NAMES),
        **_vehicle_fields("tradein", submission.trade_in, TRADEIN_NAMES),
        "purchase_horizon": submission.purchase_horizon,
        "comments": submission.comments,
    }
    score = _score(fields, contact, profile, source, at)
    lead = lead_create(
        customer=customer,
        source=submission.source,
        by=INTAKE,
        at=at,
        channel=channel,
        external_id=submission.external_id,
        team=source.team if source else None,
        score=score.points,
        score_factors=score.factors,
        contact_issues=contact.issues,
        last_seen_at=profile.last_seen_at,
        first_response_due_at=None if junk else at + FIRST_RESPONSE_DUE,
        **fields,
    )
    inquiry = _inquiry_record(lead, submission, channel, Inquiry.Outcome.CREATED, received_by, at)
    if junk:
        code, note = junk
        lead = lead_change_status(
            lead=lead,
            to_status=LeadStatus.DISQUALIFIED,
            by=INTAKE,
            reason=Reason.objects.get(kind=Reason.Kind.DISQUALIFIED, code=code),
            note=note,
            at=at,
        )
    if submission.call is not None:
        _call_log(lead, submission.call, at)
    logger.info(
        "lead %s created from inquiry %s (source %s%s)",
        lead.pk,
        inquiry.pk,
        submission.source,
        f", disqualified as {junk[0]}" if junk else "",
    )
    return IntakeResult(lead, Outcome.CREATED)


def _merge(lead, customer, submission, contact, received_by, at):
    """A repeat inquiry: what is new joins the open lead, its owner hears of it, and the lead
    keeps its place (no second lead, no second routing turn)."""
    notes = []
    update_fields = ["score", "score_factors", "contact_issues", "last_seen_at", "updated_at"]
    vehicle = _vehicle_fields("vehicle", submission.vehicle, VEHICLE_NAMES)
    if vehicle and any(getattr(lead, name) != value for name, value in vehicle.items()):
        previous = lead.vehicle_label
        for name, value in vehicle.items():
            setattr(lead, name, value)
        asked = lead.vehicle_label or "a vehicle"
        notes.append(f"now asks about {asked}" + (f" (was {previous})" if previous else ""))
        update_fields += list(vehicle)
    trade_in = _vehicle_fields("tradein", submission.trade_in, TRADEIN_NAMES)
    if trade_in and any(getattr(lead, name) != value for name, value in trade_in.items()):
        for name, value in trade_in.items():
            setattr(lead, name, value)
        notes.append("sent trade-in details")
        update_fields += list(trade_in)
    if submission.purchase_horizon and submission.purchase_horizon != lead.purchase_horizon:
        lead.purchase_horizon = submission.purchase_horizon
        notes.append(f"buying {lead.get_purchase_horizon_display().lower()}")
        update_fields.append("purchase_horizon")
    added = []
    if contact.phone and customer.phone and contact.phone != customer.phone:
        added.append(f"Other phone: {contact.phone}")
        notes.append("gave another phone number")
    if contact.email and customer.email and contact.email != customer.email:
        added.append(f"Other e-mail: {contact.email}")
        notes.append("gave another e-mail address")
    if submission.comments.strip():
        added.append(submission.comments.strip())
        notes.append("left a comment")
    if added:
        heading = f"[{timezone.localtime(at):%Y-%m-%d %H:%M} · {submission.source}]"
        lead.comments = "\n\n".join(
            filter(None, [lead.comments, heading + "\n" + "\n".join(added)])
        )
        update_fields.append("comments")
    _customer_complete(customer, submission, contact)

    visitors_link(
        customer=customer,
        visitor_id=submission.visitor_id,
        email=contact.email,
        phone=contact.phone,
    )
    profile = web_profile_for_customer(customer.pk)
    source = LeadSource.objects.filter(key=lead.source, active=True).first()
    lead_fields = {
        name: getattr(lead, name)
        for name in (
            "vehicle_vin",
            "vehicle_stock",
            "purchase_horizon",
            *(f"tradein_{name}" for name in TRADEIN_NAMES),
        )
    }
    reachable = Contact(email=customer.email, phone=customer.phone, issues=[])
    score = _score(lead_fields, reachable, profile, source, at)
    lead.score = score.points
    lead.score_factors = score.factors
    # Problems remain only for what the customer still cannot be reached by.
    lead.contact_issues = [
        issue
        for issue in lead.contact_issues + contact.issues
        if not getattr(customer, issue["field"])
    ][:2]
    lead.last_seen_at = max(filter(None, (lead.last_seen_at, profile.last_seen_at)), default=None)
    lead.save(update_fields=update_fields)

    channel = submission.channel or lead.channel
    summary = "; ".join(notes) or "asked again"
    LeadEvent.objects.create(
        lead=lead,
        kind=LeadEvent.Kind.MERGED,
        at=at,
        actor_label=INTAKE,
        note=f"Repeat inquiry via {submission.source}: {summary}.",
    )
    inquiry = _inquiry_record(lead, submission, channel, Inquiry.Outcome.MERGED, received_by, at)
    if submission.call is not None:
        _call_log(lead, submission.call, at)
    if lead.owner_id is not None:
        notification_send(
            recipient=lead.owner,
            kind="repeat_inquiry",
            message=f"{customer} asked again via {submission.source}: {summary}.",
            url=reverse("leads:detail", args=[lead.pk]),
            at=at,
        )
    logger.info(
        "inquiry %s merged into lead %s (source %s)", inquiry.pk, lead.pk, submission.source
    )
    return IntakeResult(lead, Outcome.MERGED)


def _call_log(lead, call, at):
    """The customer's call itself, on the lead: inbound, recorded by call tracking."""
    body = f"Called {call.called_number or 'the dealership'}"
    if call.recording_url:
        body += f"\nRecording: {call.recording_url}"
    activity_log(
        lead=lead,
        kind=Activity.Kind.CALL,
        by=f"{INTAKE}:call-tracking",
        direction=Activity.Direction.INBOUND,
        automated=True,
        duration_seconds=call.duration_seconds,
        outcome=Activity.Outcome.CONNECTED if call.duration_seconds else Activity.Outcome.NONE,
        customer_responded=True,
        body=body,
        occurred_at=at,
    )
