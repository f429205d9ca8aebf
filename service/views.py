"""The service advisor's pages: the desk (the day's appointments, quotes, cars in the workshop
and follow-ups due), the opportunity page, a new opportunity, the list, and the follow-ups.

Each view serves its page and, for htmx, its fragment: a loss logged from a desk row answers
with the row's new line, from the opportunity page with the page's body; a form that comes
back with errors answers 422 with the form alone, swapped in place of itself. A plain POST
redirects back (`next`) with the same words in a message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from dealercrm.errors import DomainError
from dealercrm.formats import money_text
from dealercrm.models import Role, person_name
from dealercrm.redirects import next_url
from service import services
from service.filters import OpportunityFilter
from service.forms import (
    EVENT_BUTTON,
    AdvanceForm,
    LossForm,
    OpportunityForm,
    RecaptureBookForm,
    RecaptureDeclineForm,
    loss_events,
    next_stages,
)
from service.models import ServiceLoss, Stage
from service.permissions import can_see_money
from service.selectors import (
    customer_for_new_opportunity,
    customer_vehicles,
    desk_for_user,
    follow_ups_for_user,
    loss_for_action,
    opportunity_for_action,
    opportunity_list_for_user,
    opportunity_page,
    recapture_for_action,
    service_advisors,
    service_loss_reasons,
    with_shown_summaries,
)

PER_PAGE = 50
# A form that comes back with the service's refusal or a typing error (see base.html's
# htmx-config: htmx swaps it in).
INVALID = 422
# The id of the opportunity page's body, which its htmx actions answer with.
PAGE_TARGET = "opp-page"


def _with_loss_buttons(opportunities):
    """Each row's loss buttons: (event, words) for the losses that fit where it is."""
    for opportunity in opportunities:
        opportunity.loss_buttons = [
            (event, EVENT_BUTTON[event]) for event in loss_events(opportunity)
        ]
    return opportunities


# --- the desk --------------------------------------------------------------------------------


@login_required
@permission_required("service.view_serviceopportunity", raise_exception=True)
def desk(request):
    """The advisor's day. Every appointment, quote and car in the workshop offers the losses
    that fit it, logged from the row in three clicks: the loss, the reason, "Log loss"."""
    today = timezone.localdate()
    day = desk_for_user(request.user, today)
    show_money = can_see_money(request.user)
    for rows in (day.appointments, day.quotes, day.workshop):
        _with_loss_buttons(rows)
    with_shown_summaries(day.follow_ups or (), show_money)
    return render(
        request,
        "service/desk.html",
        {
            "desk": day,
            "today": today,
            "show_money": show_money,
            "here": request.get_full_path(),
        },
    )


# --- a lost sale -----------------------------------------------------------------------------


@login_required
@permission_required("service.add_serviceloss", raise_exception=True)
def loss_log(request, pk):
    """The loss form of an opportunity for one event (?event=no_show): the full page without
    JavaScript, the inline form for htmx (a desk row, the opportunity page)."""
    opportunity = opportunity_for_action(pk, request.user)
    event = request.POST.get("event") or request.GET.get("event")
    if event is None:
        offered = loss_events(opportunity)
        event = offered[0] if offered else ServiceLoss.Event.APPOINTMENT_CANCELLED
    if event not in ServiceLoss.Event.values:
        return HttpResponseBadRequest(
            f"'{event}' is not a kind of loss; use {', '.join(ServiceLoss.Event.values)}."
        )
    show_money = can_see_money(request.user)
    back = next_url(request, reverse("service:opportunity", args=[pk]))
    form = LossForm(
        request.POST if request.method == "POST" else None,
        opportunity=opportunity,
        event=event,
        reasons=service_loss_reasons(),
        show_money=show_money,
        initial={"next": back},
    )
    if request.method == "POST" and form.is_valid():
        try:
            loss = services.loss_log(opportunity=opportunity, by=request.user, **form.loss())
        except DomainError as refusal:
            form.add_error(None, str(refusal))
        else:
            return _loss_logged(request, opportunity, loss, show_money, back)
    status = INVALID if request.method == "POST" else 200
    context = {"opportunity": opportunity, "form": form, "show_money": show_money, "back": back}
    if not request.htmx:
        return render(request, "service/loss.html", context, status=status)
    # Opened in a desk row, the form replaces that row once the loss is logged; posted back
    # with errors, it keeps the target it had (the row, or the opportunity page).
    target = request.htmx.target if request.method == "POST" else None
    context["hx_target"] = f"#{target or f'desk-opp-{pk}'}"
    context["autofocus"] = request.method == "GET"
    response = render(request, "service/partials/_loss_form.html", context, status=status)
    if status == INVALID:
        # The form posts to its row (or the page); with errors it replaces only itself.
        reswap(retarget(response, "this"), "outerHTML")
    return response


def _loss_words(loss, show_money):
    if not show_money:
        return f"Lost — {loss.reason.label}"
    words = f"Lost: {money_text(loss.amount)} — {loss.reason.label}"
    if not loss.whole:
        words += f" · {money_text(loss.opportunity.estimated_value)} still open"
    return words


def _loss_logged(request, opportunity, loss, show_money, back):
    words = _loss_words(loss, show_money)
    if request.htmx and request.htmx.target == PAGE_TARGET:
        return _page_fragment(request, opportunity.pk, f"{loss.get_event_display()}. {words}")
    if request.htmx:
        return render(
            request,
            "service/partials/_desk_lost.html",
            {"opportunity": opportunity, "loss": loss, "words": words},
        )
    messages.success(request, f"{opportunity.customer}: {loss.get_event_display()}. {words}")
    return redirect(back)


# --- the opportunity page --------------------------------------------------------------------


@login_required
def opportunity(request, pk):
    return render(request, "service/opportunity.html", _page_context(request, pk))


def _page_context(request, pk, notice="", notice_kind="success"):
    user = request.user
    page = opportunity_page(pk, user)
    opp = page.opportunity
    loss_forms = []
    events = loss_events(opp) if user.has_perm("service.add_serviceloss") else []
    if events:
        reasons = service_loss_reasons()
        here = reverse("service:opportunity", args=[pk])
        loss_forms = [
            LossForm(
                opportunity=opp,
                event=event,
                reasons=reasons,
                show_money=page.show_money,
                initial={"next": here},
            )
            for event in events
        ]
    stages = next_stages(opp) if user.has_perm("service.change_serviceopportunity") else []
    return {
        "page": page,
        "opportunity": opp,
        "show_money": page.show_money,
        "loss_forms": loss_forms,
        "stages": [stage for stage in stages if stage != Stage.DELIVERED],
        "may_deliver": Stage.DELIVERED in stages,
        "may_act": user.has_perm("service.change_serviceopportunity"),
        "here": reverse("service:opportunity", args=[pk]),
        "today": timezone.localdate(),
        "notice": notice,
        "notice_kind": notice_kind,
    }


def _page_fragment(request, pk, notice, notice_kind="success", status=200):
    return render(
        request,
        "service/opportunity.html#page",
        _page_context(request, pk, notice, notice_kind),
        status=status,
    )


def _page_answer(request, pk, notice, ok):
    """An action on the opportunity page: its body again for htmx, else back to the page."""
    if request.htmx:
        return _page_fragment(
            request, pk, notice, "success" if ok else "error", 200 if ok else INVALID
        )
    messages.add_message(request, messages.SUCCESS if ok else messages.ERROR, notice)
    return redirect("service:opportunity", pk=pk)


@require_POST
@login_required
@permission_required("service.change_serviceopportunity", raise_exception=True)
def advance(request, pk):
    """Move the opportunity to a later stage; delivering it records what was invoiced."""
    opportunity = opportunity_for_action(pk, request.user)
    form = AdvanceForm(request.POST)
    if not form.is_valid():
        errors = " ".join(" ".join(errors) for errors in form.errors.values())
        return _page_answer(request, pk, errors, ok=False)
    data = form.cleaned_data
    try:
        moved = services.opportunity_advance(
            opportunity=opportunity,
            to_stage=data["to_stage"],
            by=request.user,
            actual_value=data["actual_value"] if can_see_money(request.user) else None,
            mileage=data["mileage"],
        )
    except DomainError as refusal:
        return _page_answer(request, pk, str(refusal), ok=False)
    return _page_answer(request, pk, f"Now {moved.get_stage_display().lower()}.", ok=True)


@require_POST
@login_required
@permission_required("service.change_serviceopportunity", raise_exception=True)
def parts_arrived(request, pk):
    """The parts a lost sale waited for are in: it comes back on today's follow-ups."""
    loss = loss_for_action(pk, request.user)
    recapture = services.loss_parts_arrived(loss=loss, by=request.user)
    if recapture is None:
        notice = "The parts were recorded before, or the sale is closed: nothing changed."
    elif recapture.assignee_id:
        notice = f"Parts arrived: the work is on {person_name(recapture.assignee)}'s follow-ups."
    else:
        notice = "Parts arrived: the work is on today's follow-ups."
    return _page_answer(request, loss.opportunity_id, notice, ok=recapture is not None)


# --- a new opportunity -----------------------------------------------------------------------


@login_required
@permission_required(
    ["service.view_serviceopportunity", "service.add_serviceopportunity"], raise_exception=True
)
def opportunity_new(request):
    """A booking, a walk-in or a quote typed by the advisor: the customer (found by e-mail or
    phone, or made), the car (found or made) and the opportunity, all or nothing."""
    customer_id = request.POST.get("customer") or request.GET.get("customer")
    customer = customer_for_new_opportunity(customer_id) if customer_id else None
    user = request.user
    profile = getattr(user, "staff", None)
    initial = {}
    if profile is not None and profile.role == Role.SERVICE_ADVISOR:
        initial["advisor"] = user.pk
    form = OpportunityForm(
        request.POST if request.method == "POST" else None,
        customer=customer,
        vehicles=customer_vehicles(customer) if customer else [],
        advisors=service_advisors(),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            opportunity, _ = services.opportunity_open(
                customer=customer,
                contact={
                    name: data.get(name, "").strip()
                    for name in ("first_name", "last_name", "email", "phone")
                },
                vehicle=form.chosen_vehicle(),
                car={
                    "vin": data["vin"],
                    "year": data["year"],
                    "make": data["make"],
                    "model": data["model"],
                    "mileage": data["mileage"],
                },
                source=data["source"],
                title=data["title"],
                items=data["items"],
                estimated_value=data["estimated_value"],
                stage=data["stage"],
                booked_for=data["booked_for"],
                advisor=data["advisor"],
                mileage=data["mileage"],
                by=user,
            )
        except DomainError as refusal:
            customer = form.customer
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"Opened for {opportunity.customer}: {opportunity.title}.")
            return redirect("service:opportunity", pk=opportunity.pk)
    status = INVALID if request.method == "POST" else 200
    return render(
        request,
        "service/opportunity_new.html",
        {"form": form, "customer": customer, "show_money": can_see_money(user)},
        status=status,
    )


# --- the list --------------------------------------------------------------------------------


@login_required
@permission_required("service.view_serviceopportunity", raise_exception=True)
def opportunities(request):
    filters = OpportunityFilter(request.GET, queryset=opportunity_list_for_user(request.user))
    page = Paginator(filters.qs, PER_PAGE).get_page(request.GET.get("page"))
    context = {"filters": filters, "page": page, "show_money": can_see_money(request.user)}
    if request.htmx and request.htmx.target == "opportunity-results":
        return render(request, "service/opportunities.html#results", context)
    context["advisors"] = service_advisors()
    return render(request, "service/opportunities.html", context)


# --- follow-ups ------------------------------------------------------------------------------


@login_required
@permission_required("service.view_recapture", raise_exception=True)
def recaptures(request):
    """Open follow-ups: mine first, then nobody's; everyone's with ?everyone=1."""
    everyone = request.GET.get("everyone") == "1"
    page = Paginator(follow_ups_for_user(request.user, everyone=everyone), PER_PAGE).get_page(
        request.GET.get("page")
    )
    show_money = can_see_money(request.user)
    page.object_list = with_shown_summaries(list(page.object_list), show_money)
    return render(
        request,
        "service/recaptures.html",
        {
            "page": page,
            "everyone": everyone,
            "today": timezone.localdate(),
            "show_money": show_money,
            "here": request.get_full_path(),
        },
    )


@login_required
@permission_required("service.change_recapture", raise_exception=True)
def recapture_book(request, pk):
    """The customer said yes: book the lost work again. The form is its own page without
    JavaScript and swaps into the follow-up's row with it; the row then says what was booked."""
    recapture = recapture_for_action(pk, request.user)
    show_money = can_see_money(request.user)
    back = next_url(request, reverse("service:recaptures"))
    form = RecaptureBookForm(
        request.POST if request.method == "POST" else None,
        recapture=recapture,
        show_money=show_money,
        initial={"next": back},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            booking = services.recapture_book(
                recapture=recapture,
                by=request.user,
                booked_for=data["booked_for"],
                estimated_value=data.get("estimated_value"),
            )
        except DomainError as refusal:
            form.add_error(None, str(refusal))
        else:
            when = timezone.localtime(booking.booked_for)
            words = f"Booked for {when:%a %b %-d, %H:%M}"
            if show_money:
                words += f" — {money_text(booking.estimated_value)}"
            return _recapture_done(request, recapture, words, back, booking=booking)
    status = INVALID if request.method == "POST" else 200
    context = {
        "recapture": recapture,
        "form": form,
        "show_money": show_money,
        "back": back,
        "hx_target": f"#recapture-{pk}",
    }
    if not request.htmx:
        return render(
            request, "service/recaptures.html", {**context, "booking": True}, status=status
        )
    response = render(request, "service/partials/_recapture_book_form.html", context, status=status)
    if status == INVALID:
        reswap(retarget(response, "this"), "outerHTML")
    return response


@require_POST
@login_required
@permission_required("service.change_recapture", raise_exception=True)
def recapture_decline(request, pk):
    """The customer said no this time; with "stop following up" the lost sale is given up."""
    recapture = recapture_for_action(pk, request.user)
    form = RecaptureDeclineForm(request.POST)
    form.is_valid()  # both fields are optional: nothing to refuse
    data = form.cleaned_data
    back = next_url(request, reverse("service:recaptures"))
    try:
        services.recapture_decline(
            recapture=recapture,
            by=request.user,
            give_up=data.get("give_up", False),
            note=data.get("note", ""),
        )
    except DomainError as refusal:
        return _recapture_done(request, recapture, str(refusal), back, ok=False)
    if data.get("give_up"):
        words = "Declined again; not followed up any more."
    else:
        words = "Declined again; it comes back with the parts, a campaign or the next visit."
    return _recapture_done(request, recapture, words, back)


def _recapture_done(request, recapture, words, back, ok=True, booking=None):
    if not request.htmx:
        messages.add_message(
            request,
            messages.SUCCESS if ok else messages.ERROR,
            f"{recapture.loss.opportunity.customer}: {words}",
        )
        return redirect(back)
    return render(
        request,
        "service/partials/_recapture_done.html",
        {"recapture": recapture, "words": words, "ok": ok, "booking": booking},
        status=200 if ok else INVALID,
    )


urlpatterns = [
    path("", desk, name="desk"),
    path("opportunities/", opportunities, name="opportunities"),
    path("opportunities/new/", opportunity_new, name="opportunity_new"),
    path("opportunities/<int:pk>/", opportunity, name="opportunity"),
    path("opportunities/<int:pk>/loss/", loss_log, name="loss_log"),
    path("opportunities/<int:pk>/advance/", advance, name="advance"),
    path("losses/<int:pk>/parts-arrived/", parts_arrived, name="parts_arrived"),
    path("follow-ups/", recaptures, name="recaptures"),
    path("follow-ups/<int:pk>/book/", recapture_book, name="recapture_book"),
    path("follow-ups/<int:pk>/decline/", recapture_decline, name="recapture_decline"),
]
