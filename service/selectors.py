"""Reads for the advisor's pages: each function feeds one screen and owns its whole loading
plan, so that templates touch only what was loaded here."""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Case, IntegerField, Prefetch, Q, Value, When
from django.http import Http404

from dealercrm.models import Customer, Role
from leads.models import Reason
from service.filters import start_of_day
from service.models import (
    CustomerIssue,
    Recapture,
    ServiceLoss,
    ServiceOpportunity,
    Stage,
)
from service.permissions import (
    can_see_money,
    get_loss_for_user_or_404,
    get_opportunity_for_user_or_404,
    get_recapture_for_user_or_404,
    opportunity_queryset_for_user,
)

BEFORE_CHECK_IN = (Stage.PLANNED, Stage.BOOKED)
IN_THE_WORKSHOP = (Stage.CHECKED_IN, Stage.IN_WORK, Stage.QUALITY_CHECK)

# What a row of opportunities shows: the customer, the car and who advises.
ROW = ("customer", "vehicle", "advisor")
# What a row of follow-ups shows: the lost sale, its customer and car, who follows it up, and
# the visit (check-in) or the booking it led to.
RECAPTURE_ROW = (
    "loss__opportunity__customer",
    "loss__opportunity__vehicle",
    "loss__reason",
    "assignee",
    "visit",
    "booking",
)


def service_loss_reasons():
    """The catalog's active reasons for a lost service sale, in the managers' order."""
    return list(
        Reason.objects.filter(kind=Reason.Kind.SERVICE_LOSS, active=True).order_by(
            "ordering", "label"
        )
    )


# --- the desk --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Desk:
    appointments: list
    quotes: list
    workshop: list
    follow_ups: list | None  # None when the user may not see follow-ups


def desk_for_user(user, today):
    """The advisor's day, in four lists: today's appointments by time (open, not checked in),
    open quotes not checked in yet (those booked for today are among the appointments), the
    cars in the workshop by check-in, and the follow-ups due by `today` that are the user's or
    nobody's. One query each, through the booked_for, (status, source, created_at) and open
    recapture indexes."""
    visible = opportunity_queryset_for_user(user).select_related(*ROW)
    open_before_check_in = Q(status=ServiceOpportunity.Status.OPEN, stage__in=BEFORE_CHECK_IN)
    today_starts, tomorrow_starts = start_of_day(today), start_of_day(today + timedelta(days=1))
    appointments = visible.filter(
        open_before_check_in, booked_for__gte=today_starts, booked_for__lt=tomorrow_starts
    ).order_by("booked_for", "id")
    quotes = (
        visible.filter(open_before_check_in, source=ServiceOpportunity.Source.QUOTE)
        .exclude(booked_for__gte=today_starts, booked_for__lt=tomorrow_starts)
        .order_by("created_at", "id")
    )
    workshop = visible.filter(
        status=ServiceOpportunity.Status.OPEN, stage__in=IN_THE_WORKSHOP
    ).order_by("checked_in_at", "id")
    follow_ups = None
    if user.has_perm("service.view_recapture"):
        follow_ups = list(follow_ups_for_user(user).filter(due_on__lte=today))
    return Desk(list(appointments), list(quotes), list(workshop), follow_ups)


# --- the opportunity page --------------------------------------------------------------------


@dataclass(frozen=True)
class OpportunityPage:
    opportunity: ServiceOpportunity
    losses: list | None  # each with .recaptures_shown; None when the user may not see losses
    declined_before: list | None  # open check-in follow-ups made for this visit
    open_issues: list | None
    history: list  # ServiceEvent rows, each with .shown_summary
    show_money: bool


def opportunity_page(pk, user):
    """One opportunity as its page shows it, or 404 (see permissions): its customer, car,
    advisor, the sale it wins back and the sales lead it made; its losses with their reasons
    and follow-ups; the customer's earlier declined work brought back at this check-in; the
    customer's open issues; the history. Parts the user may not see are not read at all, and
    without `view_service_money` every amount is taken out of the words shown."""
    opportunity = get_opportunity_for_user_or_404(
        user,
        pk,
        ServiceOpportunity.objects.select_related(
            *ROW, "recovers__opportunity", "sales_lead__owner"
        ),
    )
    show_money = can_see_money(user)
    losses = declined_before = open_issues = None
    if user.has_perm("service.view_serviceloss"):
        losses = opportunity.losses.select_related("reason", "logged_by").order_by("at", "id")
        if user.has_perm("service.view_recapture"):
            losses = losses.prefetch_related(
                Prefetch(
                    "recaptures",
                    queryset=Recapture.objects.select_related("assignee", "booking").order_by(
                        "due_on", "id"
                    ),
                    to_attr="recaptures_shown",
                )
            )
        losses = list(losses)
    if user.has_perm("service.view_recapture"):
        declined_before = list(
            Recapture.objects.filter(visit=opportunity, status=Recapture.Status.OPEN)
            .select_related(*RECAPTURE_ROW)
            .order_by("due_on", "id")
        )
        with_shown_summaries(declined_before, show_money)
    if user.has_perm("service.view_customerissue"):
        open_issues = list(
            CustomerIssue.objects.filter(
                customer_id=opportunity.customer_id, status=CustomerIssue.Status.OPEN
            ).select_related("vehicle")
        )
    history = list(opportunity.events.select_related("actor").order_by("at", "id"))
    for event in history:
        event.shown_summary = shown_text(event.summary, show_money)
    return OpportunityPage(opportunity, losses, declined_before, open_issues, history, show_money)


def opportunity_for_action(pk, user):
    """The opportunity an action (a loss, a stage move) is about, with what its answer shows
    on a desk row, or 404."""
    return get_opportunity_for_user_or_404(
        user, pk, ServiceOpportunity.objects.select_related(*ROW)
    )


def loss_for_action(pk, user):
    return get_loss_for_user_or_404(user, pk, ServiceLoss.objects.select_related("opportunity"))


def customer_for_new_opportunity(pk):
    """The customer a new opportunity is opened for (?customer=<id>), or 404."""
    try:
        return Customer.objects.get(pk=pk)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404("No such customer.") from None


def customer_vehicles(customer):
    """The cars of a customer to pick from when opening an opportunity."""
    return list(customer.vehicles.order_by("-year", "make", "model", "id"))


def service_advisors():
    """People an opportunity can be given to: active service advisors and managers."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            staff__active=True,
            staff__role__in=[Role.SERVICE_ADVISOR, Role.SERVICE_MANAGER],
        )
        .order_by("first_name", "last_name", "username")
    )


# --- lists -----------------------------------------------------------------------------------


def opportunity_list_for_user(user):
    """Opportunities the user may see, newest first, with what a list row shows."""
    return opportunity_queryset_for_user(user).select_related(*ROW).order_by("-created_at", "-id")


def _recaptures_for(user, *, everyone):
    """Open follow-ups with what a row shows, each with `mine`: 0 for the user's own, 1 for
    nobody's, 2 for someone else's (only with `everyone`)."""
    recaptures = Recapture.objects.filter(status=Recapture.Status.OPEN)
    if not everyone:
        recaptures = recaptures.filter(Q(assignee=user) | Q(assignee__isnull=True))
    return recaptures.select_related(*RECAPTURE_ROW).annotate(
        mine=Case(
            When(assignee=user, then=Value(0)),
            When(assignee__isnull=True, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    )


def follow_ups_for_user(user, *, everyone=False):
    """The follow-ups page: open follow-ups, the user's first, then nobody's (then everyone
    else's when asked), each by due day."""
    return _recaptures_for(user, everyone=everyone).order_by("mine", "due_on", "id")


def recapture_for_action(pk, user):
    return get_recapture_for_user_or_404(user, pk, Recapture.objects.select_related(*RECAPTURE_ROW))


# --- money in words --------------------------------------------------------------------------


def _money_pattern():
    return re.compile(rf"-?{re.escape(settings.CURRENCY_SYMBOL)}\s?[\d,]+(?:\.\d+)?")


def shown_text(text, show_money):
    """`text` as a user may read it: history lines and follow-up summaries are written with
    their amounts ("$400.00 lost"), which people without `view_service_money` must not see."""
    if show_money:
        return text
    return _money_pattern().sub("[amount]", text)


def with_shown_summaries(recaptures, show_money):
    """Each follow-up with `shown_summary`, its summary as the user may read it."""
    for recapture in recaptures:
        recapture.shown_summary = shown_text(recapture.summary, show_money)
    return recaptures
