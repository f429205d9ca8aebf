"""The intake pipeline: one inquiry from any channel in, one lead created or merged out.

normalise (E.164 phones, lower-case e-mails) → match the customer → repeat inquiry? → stitch
website visitors → score → create or merge → (route, once routing exists) → notify.

Every channel (JSON API, ADF/XML, website form, call tracking, CSV import) builds a
`leads.submission.Submission` and calls `lead_intake`; imports call `lead_intake_many`, which
gives each row the same result with set-wise statements. One inquiry is received once per
(source, external id); an ADF `resend` of something already received changes nothing.
"""

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.errors import InvalidContactDetail
from dealercrm.models import Customer
from dealercrm.selectors import customer_match_sql
from dealercrm.services import customer_build, customer_create, notification_send
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
    WebVisitor,
)
from leads.notify import lead_routed_notify, leads_routed_notify
from leads.routing import routing_for_new_lead, routings_for_new_leads
from leads.scoring import ScoreFacts, lead_score
from leads.selectors import WebProfile, web_profile_for_customer
from leads.services import (
    activity_log,
    lead_build,
    lead_change_status,
    lead_create,
    lead_route_apply,
    leads_create_many,
)
from leads.tracking import visitors_link

logger = logging.getLogger(__name__)

INTAKE = "intake"
# A new inquiry from a customer with an open lead this recent is the same shopping trip.
REPEAT_WINDOW = timedelta(days=30)

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


def _contact_keys(contact):
    """Names for the person behind an inquiry, for locks and for finding repeats."""
    keys = []
    if contact.email:
        keys.append(f"email:{contact.email}")
    if contact.phone:
        keys.append(f"phone:{contact.phone}")
    return keys


def _identity_keys(submission, contact):
    keys = _contact_keys(contact)
    if submission.external_id:
        keys.append(f"inquiry:{submission.source}:{submission.external_id}")
    return keys


def _lock_identity(keys):
    """Serialise concurrent intake of the same inquiry or the same person, so that two posts at
    once make one lead, not two. Keys are locked in sorted order, so two intakes never wait on
    each other crosswise. SQLite needs nothing: its IMMEDIATE transactions already run writers
    one at a time."""
    if connection.vendor != "postgresql":
        return
    keys = sorted(set(keys))
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(key)) FROM unnest(%s::text[]) AS key",
                [keys],
            )


@dataclass(frozen=True)
class Known:
    """What the database already knows about an inquiry, asked in one round trip."""

    received_lead_id: int | None  # the lead of this (source, external id), received before
    customer_id: int | None  # the customer these contact details belong to
    unclaimed_visitor: bool  # a website visitor identified by them and linked to nobody yet


def _known(submission, contact):
    """Intake's questions before it writes, in one statement: one round trip instead of three,
    and SQL written out instead of built by the ORM on every lead (see customer_match_sql).
    Every condition states its partial index's WHERE clause, so that SQLite uses the index."""
    inquiry = connection.ops.quote_name(Inquiry._meta.db_table)
    visitor = connection.ops.quote_name(WebVisitor._meta.db_table)
    match_sql, match_params = customer_match_sql(contact.email, contact.phone)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT lead_id FROM {inquiry} WHERE source = %s AND external_id = %s"
            f" AND external_id <> '' LIMIT 1), {match_sql},"
            f" EXISTS (SELECT 1 FROM {visitor} WHERE identified_email = %s"
            f" AND identified_email <> '' AND customer_id IS NULL)"
            f" OR EXISTS (SELECT 1 FROM {visitor} WHERE identified_phone = %s"
            f" AND identified_phone <> '' AND customer_id IS NULL)",
            [
                submission.source,
                submission.external_id,
                *match_params,
                contact.email,
                contact.phone,
            ],
        )
        lead_id, customer_id, unclaimed = cursor.fetchone()
    return Known(lead_id, customer_id, bool(unclaimed))


def _customer_fields(submission, contact, at):
    return {
        "first_name": submission.first_name[:100],
        "last_name": submission.last_name[:100],
        "email": contact.email,
        "phone": contact.phone,
        "postal_code": submission.postal_code.strip()[:16],
        "consent_email": submission.consent_email,
        "consent_sms": submission.consent_sms,
        "consent_phone": submission.consent_phone,
        "at": at,
    }


def _customer_fill(customer, submission, contact):
    """Fill what the customer record lacks from the inquiry, in memory; never overwrite what is
    known. Returns the names of the fields it filled."""
    known = {
        "first_name": submission.first_name.strip()[:100],
        "last_name": submission.last_name.strip()[:100],
        "email": contact.email,
        "phone": contact.phone,
        "postal_code": submission.postal_code.strip()[:16],
    }
    filled = [name for name, value in known.items() if value and not getattr(customer, name)]
    for name in filled:
        setattr(customer, name, known[name])
    for channel in ("email", "sms", "phone"):
        if getattr(submission, f"consent_{channel}") and not getattr(
            customer, f"consent_{channel}"
        ):
            setattr(customer, f"consent_{channel}", True)
            filled.append(f"consent_{channel}")
    return filled


def _customer_complete(customer, submission, contact):
    filled = _customer_fill(customer, submission, contact)
    if filled:
        customer.save(update_fields=[*filled, "updated_at"])


def _vehicle_fields(prefix, vehicle, names):
    if vehicle is None or vehicle.is_empty():
        return {}
    return {f"{prefix}_{name}": getattr(vehicle, name) for name in names}


VEHICLE_NAMES = ("year", "make", "model", "trim", "vin", "stock", "condition")
TRADEIN_NAMES = ("year", "make", "model", "vin", "mileage")


# Managers change scoring weights and sources rarely; intake reads them for every lead. Kept in
# the cache, they cost no query per lead, and a change takes effect within this many seconds.
CONFIG_CACHE_SECONDS = 60
_NO_SOURCE = "none"


def _weights():
    return cache.get_or_set(
        "leads:score-weights",
        lambda: dict(ScoreWeight.objects.values_list("code", "points")),
        CONFIG_CACHE_SECONDS,
    )


def _source(key):
    """The configured LeadSource of this key (with its team), or None."""
    digest = hashlib.sha256(key.encode()).hexdigest()  # any text makes a valid cache key
    source = cache.get_or_set(
        f"leads:source:{digest}",
        lambda: (
            LeadSource.objects.filter(key=key, active=True).select_related("team").first()
            or _NO_SOURCE
        ),
        CONFIG_CACHE_SECONDS,
    )
    return None if source == _NO_SOURCE else source


def _score(lead_fields, contact, profile, source, now, weights):
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
    inquiry = _inquiry_build(lead, submission, channel, outcome, received_by, at)
    inquiry.save(force_insert=True)
    return inquiry


def _inquiry_build(lead, submission, channel, outcome, received_by, at):
    return Inquiry(
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
        received = _known(submission, _contact(submission)).received_lead_id
        if received is None:
            raise
        return IntakeResult(Lead.objects.get(pk=received), Outcome.ALREADY_RECEIVED)


def _intake(submission, received_by, at):
    contact = _contact(submission)
    _lock_identity(_identity_keys(submission, contact))
    known = _known(submission, contact)
    if known.received_lead_id is not None:
        return IntakeResult(Lead.objects.get(pk=known.received_lead_id), Outcome.ALREADY_RECEIVED)

    junk = _junk(submission, contact)
    # Spam never joins a real customer's history; it gets a customer record of its own.
    customer = None
    if not junk and known.customer_id is not None:
        customer = Customer.objects.get(pk=known.customer_id)
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
            return _merge(lead, customer, submission, contact, known, received_by, at)
        _customer_complete(customer, submission, contact)
    else:
        customer = customer_create(**_customer_fields(submission, contact, at))
    return _create(customer, submission, contact, junk, known, received_by, at)


def _lead_fields(submission, contact, source, profile, junk, at, weights):
    """Everything a new lead is created with besides its customer: what the inquiry said,
    the score, the channel, the pool it waits in."""
    fields = {
        **_vehicle_fields("vehicle", submission.vehicle, VEHICLE_NAMES),
        **_vehicle_fields("tradein", submission.trade_in, TRADEIN_NAMES),
        "purchase_horizon": submission.purchase_horizon,
        "comments": submission.comments,
    }
    score = _score(fields, contact, profile, source, at, weights)
    return {
        **fields,
        "channel": submission.channel or (source.channel if source else Lead.Channel.OTHER),
        "external_id": submission.external_id,
        "team_id": source.team_id if source else None,
        "score": score.points,
        "score_factors": score.factors,
        "contact_issues": contact.issues,
        "last_seen_at": profile.last_seen_at,
    }


def _create(customer, submission, contact, junk, known, received_by, at):
    source = _source(submission.source)
    linked = 0
    if not junk:
        linked = visitors_link(
            customer=customer,
            visitor_id=submission.visitor_id,
            email=contact.email,
            phone=contact.phone,
            by_contact=known.unclaimed_visitor,
        )
    # A customer created a moment ago has a website history only through what was just linked.
    browsed = linked or customer.created_at < at
    profile = web_profile_for_customer(customer.pk) if browsed else WebProfile()
    fields = _lead_fields(submission, contact, source, profile, junk, at, _weights())
    channel = fields["channel"]
    # Junk is disqualified below and routed to nobody.
    routing = None
    if not junk:
        routing = routing_for_new_lead(
            fields,
            source=submission.source,
            team_name=_team_name(source),
            customer_id=customer.pk,
            known_customer=known.customer_id is not None,
            at=at,
        )
    lead = lead_create(
        customer=customer, source=submission.source, by=INTAKE, at=at, routing=routing, **fields
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
    lead_routed_notify(lead, source=source, profile=profile)
    logger.info(
        "lead %s created from inquiry %s (source %s%s)",
        lead.pk,
        inquiry.pk,
        submission.source,
        f", disqualified as {junk[0]}" if junk else "",
    )
    return IntakeResult(lead, Outcome.CREATED)


def _team_name(source):
    return source.team.name if source and source.team_id else ""


def _merged(lead, customer, submission, contact, at):
    """Apply a repeat inquiry to its open lead and customer in memory: the vehicle it now asks
    about, a trade-in, the horizon, other contact details and the comment. Returns the lead's
    changed fields, the customer's and a summary for the history and the owner."""
    notes = []
    changed = []
    vehicle = _vehicle_fields("vehicle", submission.vehicle, VEHICLE_NAMES)
    if vehicle and any(getattr(lead, name) != value for name, value in vehicle.items()):
        previous = lead.vehicle_label
        for name, value in vehicle.items():
            setattr(lead, name, value)
        asked = lead.vehicle_label or "a vehicle"
        notes.append(f"now asks about {asked}" + (f" (was {previous})" if previous else ""))
        changed += list(vehicle)
    trade_in = _vehicle_fields("tradein", submission.trade_in, TRADEIN_NAMES)
    if trade_in and any(getattr(lead, name) != value for name, value in trade_in.items()):
        for name, value in trade_in.items():
            setattr(lead, name, value)
        notes.append("sent trade-in details")
        changed += list(trade_in)
    if submission.purchase_horizon and submission.purchase_horizon != lead.purchase_horizon:
        lead.purchase_horizon = submission.purchase_horizon
        notes.append(f"buying {lead.get_purchase_horizon_display().lower()}")
        changed.append("purchase_horizon")
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
        changed.append("comments")
    filled = _customer_fill(customer, submission, contact)
    # Problems remain only for what the customer still cannot be reached by.
    lead.contact_issues = [
        issue
        for issue in lead.contact_issues + contact.issues
        if not getattr(customer, issue["field"])
    ][:2]
    return changed, filled, "; ".join(notes) or "asked again"


def _rescore(lead, customer, profile, at, weights):
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
    score = _score(lead_fields, reachable, profile, _source(lead.source), at, weights)
    lead.score = score.points
    lead.score_factors = score.factors


def _merge_event(lead, submission, summary, at):
    return LeadEvent(
        lead=lead,
        kind=LeadEvent.Kind.MERGED,
        at=at,
        actor_label=INTAKE,
        note=f"Repeat inquiry via {submission.source}: {summary}.",
    )


def _merge(lead, customer, submission, contact, known, received_by, at):
    """A repeat inquiry: what is new joins the open lead, its owner hears of it, and the lead
    keeps its place (no second lead, no second routing turn)."""
    changed, filled, summary = _merged(lead, customer, submission, contact, at)
    if filled:
        customer.save(update_fields=[*filled, "updated_at"])
    linked = visitors_link(
        customer=customer,
        visitor_id=submission.visitor_id,
        email=contact.email,
        phone=contact.phone,
        by_contact=known.unclaimed_visitor,
    )
    # Every event of the customer moves their leads' last-seen time, so a lead never seen had
    # no website history to read unless a visitor was linked just now.
    browsed = linked or lead.last_seen_at is not None
    profile = web_profile_for_customer(customer.pk) if browsed else WebProfile()
    _rescore(lead, customer, profile, at, _weights())
    lead.last_seen_at = max(filter(None, (lead.last_seen_at, profile.last_seen_at)), default=None)
    lead.save(
        update_fields=[
            *changed,
            "score",
            "score_factors",
            "contact_issues",
            "last_seen_at",
            "updated_at",
        ]
    )
    _merge_event(lead, submission, summary, at).save(force_insert=True)
    channel = submission.channel or lead.channel
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


def lead_intake_many(submissions, *, received_by=None, at=None):
    """Receive many inquiries (an import), each with the result `lead_intake` would give it,
    in one transaction. Returns the IntakeResults in the order of `submissions`.

    A row at a time costs a dozen statements, so the plain cases go in bulk: the first inquiry
    of a person nobody knows, with nothing to stitch, flag or log, makes a customer, a lead, its
    history and its inquiry in a few set-wise statements, and the same person's later plain
    rows merge into that lead in memory. Every other row (junk, a visitor to stitch, a known
    customer, an id received before) goes through `lead_intake`, in order, after them, and
    finds the bulk rows' customers and leads as if they had come one by one.
    """
    at = at or timezone.now()
    contacts = [_contact(submission) for submission in submissions]
    results = [None] * len(submissions)
    with transaction.atomic():
        _lock_identity(
            [
                key
                for pair in zip(submissions, contacts, strict=True)
                for key in _identity_keys(*pair)
            ]
        )
        plain, repeats = _bulk_plan(submissions, contacts)
        if plain:
            _bulk_create(plain, repeats, submissions, contacts, results, received_by, at)
        for i, submission in enumerate(submissions):
            if results[i] is None:
                results[i] = lead_intake(submission, received_by=received_by, at=at)
    return results


def _bulk_create(plain, repeats, submissions, contacts, results, received_by, at):
    """Customers, leads, history and inquiries for the bulk rows: built and merged in memory,
    then inserted set-wise."""
    weights = _weights()
    no_visits = WebProfile()
    sources = {i: _source(submissions[i].source) for i in plain}
    fields = {
        i: _lead_fields(submissions[i], contacts[i], sources[i], no_visits, None, at, weights)
        for i in plain
    }
    routings = routings_for_new_leads(
        [fields[i] for i in plain],
        sources=[submissions[i].source for i in plain],
        team_names=[_team_name(sources[i]) for i in plain],
        at=at,
    )
    built = {}
    for i, routing in zip(plain, routings, strict=True):
        customer = customer_build(**_customer_fields(submissions[i], contacts[i], at))
        lead = lead_build(customer=customer, source=submissions[i].source, at=at, **fields[i])
        lead_route_apply(lead, routing)
        built[i] = (customer, lead)
    merges = []
    for j, i in sorted(repeats.items()):
        customer, lead = built[i]
        _, _, summary = _merged(lead, customer, submissions[j], contacts[j], at)
        merges.append((j, lead, summary))
    for i in {i for i in repeats.values()}:
        customer, lead = built[i]
        _rescore(lead, customer, no_visits, at, weights)

    Customer.objects.bulk_create([customer for customer, _ in built.values()])
    leads = leads_create_many([lead for _, lead in built.values()], by=INTAKE, routings=routings)
    leads_routed_notify(leads, sources=[sources[i] for i in built])
    inquiries = []
    for i, (_, lead) in built.items():
        results[i] = IntakeResult(lead, Outcome.CREATED)
        inquiries.append(
            _inquiry_build(
                lead, submissions[i], lead.channel, Inquiry.Outcome.CREATED, received_by, at
            )
        )
    for j, lead, _ in merges:
        results[j] = IntakeResult(lead, Outcome.MERGED)
        channel = submissions[j].channel or lead.channel
        inquiries.append(
            _inquiry_build(lead, submissions[j], channel, Inquiry.Outcome.MERGED, received_by, at)
        )
    # After the leads' creation events, so that each lead's history reads in order.
    LeadEvent.objects.bulk_create(
        [_merge_event(lead, submissions[j], summary, at) for j, lead, summary in merges]
    )
    Inquiry.objects.bulk_create(inquiries)
    logger.info(
        "%s leads created and %s repeat inquiries merged in bulk (lead ids %s to %s)",
        len(leads),
        len(merges),
        leads[0].pk,
        leads[-1].pk,
    )


def _bulk_plan(submissions, contacts):
    """Which inquiries `lead_intake_many` may take in bulk: the rows that create a lead, and
    the rows that repeat one of them ({row: the row it repeats}). See there."""
    candidates = [
        i
        for i, (submission, contact) in enumerate(zip(submissions, contacts, strict=True))
        if not (
            submission.resend
            or submission.call
            or submission.visitor_id
            or _junk(submission, contact)
        )
    ]
    # Contact details or ids the database already knows send their rows one by one.
    emails = {contacts[i].email for i in candidates} - {""}
    phones = {contacts[i].phone for i in candidates} - {""}
    known = Customer.objects.filter(
        Q(email__in=emails) & ~Q(email="") | Q(phone__in=phones) & ~Q(phone="")
    ).values_list("email", "phone")
    unclaimed = WebVisitor.objects.filter(
        Q(identified_email__in=emails) & ~Q(identified_email="") & Q(customer__isnull=True)
        | Q(identified_phone__in=phones) & ~Q(identified_phone="") & Q(customer__isnull=True)
    ).values_list("identified_email", "identified_phone")
    external_ids = {submissions[i].external_id for i in candidates} - {""}
    received = set(
        Inquiry.objects.filter(external_id__in=external_ids)
        .exclude(external_id="")
        .values_list("source", "external_id")
    )
    taken = {value for pair in [*known, *unclaimed] for value in pair if value}
    candidates = [
        i
        for i in candidates
        if contacts[i].email not in taken
        and contacts[i].phone not in taken
        and (submissions[i].source, submissions[i].external_id) not in received
    ]

    # Within the file: the first row naming a person creates the lead; a later row naming the
    # same person (by every detail it gives), with an id of its own, merges into it, provided
    # every earlier row naming that person went in bulk too (so the order of events holds).
    rows_with_key = {}
    for i, pair in enumerate(zip(submissions, contacts, strict=True)):
        for key in _identity_keys(*pair):
            rows_with_key.setdefault(key, []).append(i)
    plain, repeats, plain_rows = [], {}, set()
    for i in candidates:
        submission, contact = submissions[i], contacts[i]
        id_key = f"inquiry:{submission.source}:{submission.external_id}"
        if submission.external_id and rows_with_key[id_key][0] != i:
            continue  # the same inquiry twice: `lead_intake` answers "already received"
        contact_keys = _contact_keys(contact)
        earlier = {row for key in contact_keys for row in rows_with_key[key] if row < i}
        if not earlier:
            plain.append(i)
            plain_rows.add(i)
            continue
        targets = {repeats.get(row, row) for row in earlier}
        in_bulk = all(row in repeats or row in plain_rows for row in earlier)
        firsts = {rows_with_key[key][0] for key in contact_keys}
        if in_bulk and len(targets) == 1 and firsts == targets:
            repeats[i] = targets.pop()
    return plain, repeats
