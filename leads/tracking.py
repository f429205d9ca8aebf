"""Writers for the customers' website activity: events, visitors, and stitching a visitor to the
customer it turns out to be.

Tracking never stops: a lead being lost, disqualified or sold changes nothing here. What a
customer does on the site after a lead closed is exactly what brings the lead back.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.errors import InvalidContactDetail
from dealercrm.selectors import customer_matching
from leads.models import Lead, WebEvent, WebVisitor

# The usual web analytics rule: 30 minutes without an event ends a session.
SESSION_GAP = timedelta(minutes=30)


@dataclass(frozen=True)
class WebEventInput:
    visitor_id: str
    type: str
    occurred_at: datetime
    url: str = ""
    vin: str = ""
    stock: str = ""
    make: str = ""
    model: str = ""
    session_id: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class RecordedEvents:
    stored: int
    identified_visitors: int
    warnings: list


def _identity(event, warnings):
    """The event's contact details, normalised; one that does not parse identifies nobody."""
    email = phone = ""
    try:
        email = normalize_email(event.email)
    except InvalidContactDetail as problem:
        warnings.append(f"visitor {event.visitor_id}: {problem}; not used to identify it")
    try:
        phone = normalize_phone(event.phone)
    except InvalidContactDetail as problem:
        warnings.append(f"visitor {event.visitor_id}: {problem}; not used to identify it")
    return email, phone


def _vehicle_key(type, vin, stock, make, model):
    if type != WebEvent.Type.VEHICLE_VIEW:
        return ""
    return vin or (f"stock:{stock}" if stock else f"{make} {model}".strip().lower())[:101]


def _session_key(visitor, event):
    if event.session_id:
        return f"{visitor.visitor_id}:{event.session_id}"[:100]
    last = visitor.last_seen_at
    if visitor.session_key and last is not None and abs(event.occurred_at - last) <= SESSION_GAP:
        return visitor.session_key
    return f"{visitor.visitor_id}:{event.occurred_at:%Y%m%dT%H%M%S}"[:100]


@transaction.atomic
def web_events_record(events, *, at=None):
    """Store website events and keep visitors, sessions and the leads' last-seen times current.

    An event carrying an e-mail or phone identifies its visitor: the visitor and all its events
    (earlier ones too) are linked to the matching customer, or the details are remembered so a
    later lead with them claims the visitor. Contact details that do not parse are reported in
    `warnings` and the event is stored anyway.
    """
    at = at or timezone.now()
    warnings = []
    by_visitor = defaultdict(list)
    for event in sorted(events, key=lambda event: event.occurred_at):
        by_visitor[event.visitor_id].append(event)

    WebVisitor.objects.bulk_create(
        [WebVisitor(visitor_id=visitor_id) for visitor_id in by_visitor], ignore_conflicts=True
    )
    # Locked so that two batches for one visitor agree on its sessions.
    visitors = {
        visitor.visitor_id: visitor
        for visitor in WebVisitor.objects.select_for_update()
        .filter(visitor_id__in=list(by_visitor))
        .order_by("visitor_id")
    }

    rows = []
    newly_identified = []
    for visitor_id, visitor_events in by_visitor.items():
        visitor = visitors[visitor_id]
        for event in visitor_events:
            email, phone = _identity(event, warnings)
            if visitor.customer_id is None and (email or phone):
                customer = customer_matching(email=email, phone=phone)
                if customer is not None:
                    visitor.customer = customer
                    newly_identified.append(visitor)
                else:
                    visitor.identified_email = email or visitor.identified_email
                    visitor.identified_phone = phone or visitor.identified_phone
            visitor.session_key = _session_key(visitor, event)
            if visitor.first_seen_at is None or event.occurred_at < visitor.first_seen_at:
                visitor.first_seen_at = event.occurred_at
            if visitor.last_seen_at is None or event.occurred_at > visitor.last_seen_at:
                visitor.last_seen_at = event.occurred_at
            vin, stock = event.vin.strip().upper(), event.stock.strip()
            make, model = event.make.strip(), event.model.strip()
            rows.append(
                WebEvent(
                    visitor=visitor,
                    customer_id=visitor.customer_id,
                    type=event.type,
                    url=event.url,
                    vin=vin,
                    stock=stock,
                    make=make,
                    model=model,
                    vehicle_key=_vehicle_key(event.type, vin, stock, make, model),
                    session_key=visitor.session_key,
                    occurred_at=event.occurred_at,
                    received_at=at,
                )
            )
    WebEvent.objects.bulk_create(rows)
    WebVisitor.objects.bulk_update(
        visitors.values(),
        [
            "customer",
            "identified_email",
            "identified_phone",
            "first_seen_at",
            "last_seen_at",
            "session_key",
        ],
    )
    for visitor in newly_identified:
        WebEvent.objects.filter(visitor=visitor, customer__isnull=True).update(
            customer=visitor.customer
        )

    last_seen = defaultdict(lambda: None)
    for visitor in visitors.values():
        if visitor.customer_id is not None:
            seen = last_seen[visitor.customer_id]
            last_seen[visitor.customer_id] = max(filter(None, (seen, visitor.last_seen_at)))
    for customer_id, seen in last_seen.items():
        leads_seen_update(customer_id, seen)
    return RecordedEvents(
        stored=len(rows), identified_visitors=len(newly_identified), warnings=warnings
    )


def leads_seen_update(customer_id, seen_at):
    """Move the last-seen time of every lead of the customer (open or closed) forward."""
    Lead.objects.filter(customer_id=customer_id).filter(
        Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=seen_at)
    ).update(last_seen_at=seen_at)


def visitors_link(*, customer, visitor_id="", email="", phone="", by_contact=True):
    """Link to `customer` the visitor with `visitor_id` (creating it when the site has not
    reported it yet, so its later events land on the customer) and, unless `by_contact` is
    False (the caller knows there is none), any unclaimed visitor that identified itself with
    the customer's e-mail or phone; their events follow.

    Returns how many visitors with a history were linked, so that intake can skip reading the
    website profile of a new customer nobody saw on the site.
    """
    # A visitor already linked to someone else keeps its customer: a shared family computer
    # identifies as the first person, and re-pointing history would rewrite another lead's.
    linked = 0
    if visitor_id:
        linked += _visitor_claim(visitor_id, customer)
    if by_contact and (email or phone):
        # Each branch states its partial index's condition, so that SQLite uses the index.
        unclaimed = Q(customer__isnull=True)
        claim = Q(pk__in=[])
        if email:
            claim |= Q(identified_email=email) & ~Q(identified_email="") & unclaimed
        if phone:
            claim |= Q(identified_phone=phone) & ~Q(identified_phone="") & unclaimed
        linked += WebVisitor.objects.filter(claim).update(customer=customer)
    if linked:
        WebEvent.objects.filter(visitor__customer=customer, customer__isnull=True).update(
            customer=customer
        )
    return linked


def _visitor_claim(visitor_id, customer):
    """Create the visitor for `customer`, or claim it when it is nobody's yet, in one statement
    (intake does this for most leads). Returns 1 when a visitor with a history was claimed."""
    table = connection.ops.quote_name(WebVisitor._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (visitor_id, customer_id, identified_email, identified_phone,"
            " session_key) VALUES (%s, %s, '', '', '')"
            " ON CONFLICT (visitor_id) DO UPDATE SET customer_id = excluded.customer_id"
            f" WHERE {table}.customer_id IS NULL"
            " RETURNING last_seen_at",
            [visitor_id, customer.pk],
        )
        row = cursor.fetchone()
    return int(row is not None and row[0] is not None)
