"""Recycling: a date in a customer's life with their car (a lease or loan ending, a warranty
running out, a purchase anniversary, a service due) brings them back to sales some days ahead,
once per date — as a new lead (source "recycle") for their previous salesperson, or, when they
already have an open lead, as a task on it.
"""

from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dealercrm.models import LifecycleDate
from dealercrm.services import notification_send
from leads.followup import followup_task_add
from leads.models import OPEN_STATUSES, FollowUpTask, Lead, Recycling
from leads.routing import routing_for_recycled_lead
from leads.services import lead_create

RECYCLE_JOB = "sweep:recycle"
# A date further past than this is news to nobody: it is not recycled any more.
TOO_LATE = timedelta(days=30)


def lifecycle_dates_due(now, rules, limit):
    """Ids of life-cycle dates not recycled yet whose time has come: within their kind's days
    ahead (LifecycleSettings) and not more than TOO_LATE past. Through the partial index of
    unrecycled dates, so its cost follows the dates coming due."""
    today = timezone.localdate(now)
    ids = []
    for kind in LifecycleDate.Kind.values:
        ahead = timedelta(days=rules.recycle_days(kind))
        ids += LifecycleDate.objects.filter(
            recycled_at__isnull=True,
            kind=kind,
            date__gte=today - TOO_LATE,
            date__lte=today + ahead,
        ).values_list("pk", flat=True)[: limit - len(ids)]
        if len(ids) >= limit:
            break
    return ids


def _what(date):
    vehicle = f" ({date.vehicle})" if date.vehicle_id else ""
    return f"{date.get_kind_display()} on {date.date:%b %-d, %Y}{vehicle}"


@transaction.atomic
def lifecycle_date_recycle(date_id, *, now):
    """Bring the customer of the life-cycle date `date_id` back to sales, once: the date is
    claimed with a conditional update before anything is made, so a second sweep (or a retry)
    finds it taken. Returns "created" (a new lead), "added" (a task on the customer's open
    lead) or None (recycled already)."""
    claimed = LifecycleDate.objects.filter(pk=date_id, recycled_at__isnull=True).update(
        recycled_at=now
    )
    if not claimed:
        return None
    date = LifecycleDate.objects.select_related("customer", "vehicle").get(pk=date_id)
    what = _what(date)
    lead, created = customer_back_to_sales(
        customer=date.customer,
        vehicle=date.vehicle,
        channel=Lead.Channel.RECYCLE,
        by=RECYCLE_JOB,
        why=what,
        comments=f"{what}. {date.note}".strip(),
        at=now,
    )
    Recycling.objects.create(lifecycle_date=date, lead=lead, created_lead=created, at=now)
    if date.kind == LifecycleDate.Kind.PURCHASE_ANNIVERSARY:
        _next_anniversary(date)
    return "created" if created else "added"


@transaction.atomic
def customer_back_to_sales(*, customer, vehicle, channel, by, why, at, comments=""):
    """Give a customer the CRM brings back (a life-cycle date, a service visit in an old car)
    to sales: when they have an open lead, a task on it for today; otherwise a new lead from
    source and channel `channel`, for their previous salesperson or as the rules decide. Its
    owner is told `why`, with the task for today. Returns (lead, created)."""
    open_lead = (
        Lead.objects.select_for_update(of=("self",))
        .filter(customer_id=customer.pk, status__in=OPEN_STATUSES)
        .order_by("-created_at", "-id")
        .first()
    )
    if open_lead is not None:
        _tell(open_lead, customer, why, at, created=False)
        return open_lead, False
    routing = routing_for_recycled_lead(customer_id=customer.pk, at=at, why=why, channel=channel)
    lead = lead_create(
        customer=customer,
        source=channel,
        channel=channel,
        by=by,
        at=at,
        routing=routing,
        comments=comments or why,
        tradein_year=vehicle.year if vehicle else None,
        tradein_make=vehicle.make if vehicle else "",
        tradein_model=vehicle.model if vehicle else "",
        tradein_vin=vehicle.vin if vehicle else "",
        tradein_mileage=vehicle.mileage if vehicle else None,
    )
    _tell(lead, customer, why, at, created=True)
    return lead, True


def _tell(lead, customer, why, now, *, created):
    """The owner's task for today and a notification; nobody's while the lead is in a pool
    (the pool shows it)."""
    if lead.owner_id is None:
        return
    followup_task_add(
        lead,
        kind=FollowUpTask.Kind.FOLLOW_UP,
        title=f"{why}: talk about the next car"[:200],
        due_on=timezone.localdate(now),
        at=now,
    )
    notification_send(
        recipient_id=lead.owner_id,
        kind="assigned" if created else "recycled",
        message=(f"{customer} is back for you: " if created else f"{customer}: ")
        + f"{why.lower()[0]}{why[1:]}. Talk about the next car today.",
        url=reverse("leads:detail", args=[lead.pk]),
        at=now,
    )


def _next_anniversary(date):
    try:
        following = date.date.replace(year=date.date.year + 1)
    except ValueError:  # February 29
        following = date.date.replace(year=date.date.year + 1, day=28)
    LifecycleDate.objects.get_or_create(
        customer_id=date.customer_id,
        kind=date.kind,
        date=following,
        defaults={"vehicle_id": date.vehicle_id, "note": date.note},
    )
