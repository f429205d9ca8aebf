"""What the owner of a newly routed lead is told: who the customer is, what they want, how hot
the lead is, where it came from, what they did on the website, and when to call by.

Built from what intake already holds in memory (the lead, its customer, its source and the
website profile it scored with), so telling the owner costs the notification's INSERT only.
"""

from django.urls import reverse
from django.utils import timezone

from dealercrm.services import notification_build, notification_send, notifications_send_many

ROUTED_KIND = "assigned"


def _count(number, noun):
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _local(moment, since):
    """A time of day, with the day when it is not the day of `since`. (strftime: an import
    formats one per lead, and django.utils.dateformat takes about six times longer.)"""
    local = timezone.localtime(moment)
    if local.date() == timezone.localtime(since).date():
        return f"{local:%H:%M}"
    return f"{local:%a %b} {local.day}, {local:%H:%M}"


def lead_routed_message(lead, *, source=None, profile=None):
    """The owner's summary of a new lead, e.g. "New lead, call by 10:05: Maria Lopez · 2025 Kia
    EV6 · score 72 (hot) · via Cars.com · on the website: 3 sessions, 5 vehicles viewed, last
    seen 09:52". The deadline comes first, so that an e-mail's subject (the message, shortened)
    and a phone's preview keep it. `source` is the lead's LeadSource (its name reads better
    than the key), `profile` its customer's leads.selectors.WebProfile; either may be None."""
    heading = "New lead"
    if lead.first_response_due_at is not None:
        heading += f", call by {_local(lead.first_response_due_at, lead.created_at)}"
    parts = [f"{heading}: {lead.customer}"]
    if lead.vehicle_label:
        parts.append(lead.vehicle_label)
    parts.append(f"score {lead.score} ({lead.score_band})")
    parts.append(f"via {source.name if source is not None else lead.source}")
    if profile is not None and not profile.is_empty:
        parts.append(
            f"on the website: {_count(profile.sessions, 'session')}, "
            f"{_count(profile.vehicles_viewed, 'vehicle')} viewed, "
            f"last seen {_local(profile.last_seen_at, lead.created_at)}"
        )
    return " · ".join(parts)


def _routed(lead):
    """Whether the new lead was routed to a person: a pool lead or junk tells nobody."""
    return lead.owner_id is not None and lead.is_open


def _lead_url(pk):
    return reverse("leads:detail", args=[pk])


def _lead_urls():
    """`_lead_url` for many leads: reverse() costs about as much as the rest of a lead's
    notification, so an import reverses once and puts in each lead's id."""
    marker = str(2**62)  # no lead has this id
    return reverse("leads:detail", args=[marker]).replace(marker, "{}").format


def _notification_fields(lead, source, profile, url=_lead_url):
    return {
        "recipient_id": lead.owner_id,
        "kind": ROUTED_KIND,
        "message": lead_routed_message(lead, source=source, profile=profile),
        "url": url(lead.pk),
        "at": lead.created_at,
    }


def lead_routed_notify(lead, *, source=None, profile=None):
    """Tell the owner of a lead intake has just created and routed to them, inside intake's
    transaction (and by e-mail after commit, see notification_send). Returns the notification,
    or None when the lead went to a pool or was disqualified."""
    if not _routed(lead):
        return None
    return notification_send(**_notification_fields(lead, source, profile))


def leads_routed_notify(leads, *, sources):
    """`lead_routed_notify` for the leads of an import (no website history: bulk rows have
    none), `sources` in the same order, inserted set-wise."""
    url = _lead_urls()
    return notifications_send_many(
        [
            notification_build(**_notification_fields(lead, source, None, url))
            for lead, source in zip(leads, sources, strict=True)
            if _routed(lead)
        ]
    )
