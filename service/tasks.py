"""The aftersales sweep: lost service sales come back by themselves.

Run by django-q2 through `dealercrm.schedules.sweep_run` ("service-recapture"), or once with
`manage.py run_sweep service-recapture`. Idempotent: each loss's follow-up is claimed with a
conditional update before it is made, and a campaign offer is made once per loss and campaign
(a unique constraint), so a rerun or a second worker brings nothing back twice.
"""

from collections import defaultdict
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from dealercrm.schedules import one_by_one
from service.models import Recapture, ServiceCampaign, ServiceLoss
from service.services import DECLINED_WORK, _declined_text, recapture_open

BATCH = 500
# Work declined on price, or for a cheaper offer elsewhere, is what a campaign can win back.
PRICE_REASONS = ("price_too_high", "competitor_offer")
# Declined work older than this is not offered again by a campaign.
CAMPAIGN_REACH = timedelta(days=365)
REBOOKED = frozenset({ServiceLoss.Event.NO_SHOW, ServiceLoss.Event.APPOINTMENT_CANCELLED})


def losses_due(today, limit):
    """Ids of lost sales still to win back whose follow-up day has come and which no sweep has
    claimed: the partial index of unclaimed pending losses, so the cost follows the rows due."""
    return list(
        ServiceLoss.objects.filter(
            recovery=ServiceLoss.Recovery.PENDING,
            followed_up_at__isnull=True,
            follow_up_on__lte=today,
        )
        .order_by("follow_up_on", "id")
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def loss_follow_up(loss_id, *, now):
    """Bring one lost sale back on its follow-up day, once: claimed with a conditional update
    before the task is made. A missed appointment is to be rebooked; declined work is offered
    again. Returns "rebook", "follow_up" or None (claimed already)."""
    claimed = ServiceLoss.objects.filter(
        pk=loss_id, followed_up_at__isnull=True, recovery=ServiceLoss.Recovery.PENDING
    ).update(followed_up_at=now)
    if not claimed:
        return None
    loss = ServiceLoss.objects.select_related(
        "opportunity__customer", "opportunity__advisor__staff", "advisor__staff", "reason"
    ).get(pk=loss_id)
    lost_on = f"{timezone.localtime(loss.at):%b %-d}"
    if loss.event in REBOOKED:
        kind = Recapture.Kind.REBOOK
        summary = f"{loss.get_event_display()} on {lost_on}: rebook {_declined_text(loss)}"
    else:
        kind = Recapture.Kind.FOLLOW_UP
        summary = f"Declined on {lost_on} ({loss.reason.label.lower()}): {_declined_text(loss)}"
    return kind if recapture_open(loss, kind, at=now, summary=summary) else None


def _campaign_fits(campaign, loss):
    vehicle = loss.opportunity.vehicle
    makes = campaign.make_list
    if makes and (vehicle is None or vehicle.make.lower() not in makes):
        return False
    words = campaign.keyword_list
    if not words:
        return True
    text = " ".join(
        [loss.opportunity.title, *(item.get("description", "") for item in loss.declined_items)]
    ).lower()
    return any(word in text for word in words)


def campaign_offers(campaign, now):
    """Ids of lost sales a running campaign may win back: declined on price or for a
    competitor's offer within CAMPAIGN_REACH, still to win back, not offered this campaign yet,
    and fitting its makes and keywords."""
    candidates = (
        ServiceLoss.objects.filter(
            recovery=ServiceLoss.Recovery.PENDING,
            reason__code__in=PRICE_REASONS,
            event__in=DECLINED_WORK,
            at__gte=now - CAMPAIGN_REACH,
        )
        .exclude(Exists(Recapture.objects.filter(loss=OuterRef("pk"), campaign=campaign)))
        .select_related("opportunity__vehicle")
        .only("declined_items", "opportunity__title", "opportunity__vehicle__make")
    )
    return [
        loss.pk for loss in candidates.iterator(chunk_size=BATCH) if _campaign_fits(campaign, loss)
    ]


@transaction.atomic
def loss_campaign_offer(loss_id, campaign, *, now):
    loss = ServiceLoss.objects.select_related(
        "opportunity__customer", "opportunity__advisor__staff", "advisor__staff"
    ).get(pk=loss_id)
    if loss.recovery != ServiceLoss.Recovery.PENDING:
        return None
    summary = f"{campaign.name}: {campaign.offer}. Declined on price: {_declined_text(loss)}"
    made = recapture_open(loss, Recapture.Kind.CAMPAIGN, at=now, summary=summary, campaign=campaign)
    return "campaign" if made else None


def recapture_sweep(now, since=None):
    """Bring lost service sales back: missed appointments to rebook and declined work to offer
    again on their follow-up day (ServiceSettings), and work declined on price when a running
    campaign fits it. Parts arrivals and check-ins bring work back at once (service.services)."""
    today = timezone.localdate(now)
    counts = defaultdict(int)
    errors = []
    failed = set()
    while True:
        due = [pk for pk in losses_due(today, BATCH + len(failed)) if pk not in failed]
        if not due:
            break
        failed |= one_by_one(
            due, lambda pk: loss_follow_up(pk, now=now), "lost service sale", counts, errors
        )
    running = ServiceCampaign.objects.filter(active=True, starts_on__lte=today, ends_on__gte=today)
    for campaign in running:
        one_by_one(
            campaign_offers(campaign, now),
            lambda pk, campaign=campaign: loss_campaign_offer(pk, campaign, now=now),
            "campaign offer",
            counts,
            errors,
        )
    return {
        "examined": counts["examined"],
        "changed": counts["rebook"] + counts["follow_up"] + counts["campaign"],
        "rebook": counts["rebook"],
        "follow_up": counts["follow_up"],
        "campaign": counts["campaign"],
        "errors": errors,
    }
