"""The routing pages that need lead data, for BDC and sales managers: who is on shift and how
many open leads each person may hold (with the opening hours), a preview of who would get a
lead, and a replay of the last days through the active or a draft rule set.

They live in `leads` because the `routing` app never imports `leads`; they share its /routing/
prefix and its sub-navigation. Their forms are in leads.forms.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from dealercrm.errors import InvalidStaffSetting
from dealercrm.models import Team, person_name
from dealercrm.services import staff_set_routing
from leads.forms import OpeningHoursForm, PreviewForm, ReplayForm, StaffRoutingForm
from leads.replay import DEFAULT_DAYS, routing_replay
from leads.routing import routing_preview_for
from leads.selectors import staff_for_routing
from routing.engine import duration_text
from routing.errors import InvalidRule
from routing.models import Strategy
from routing.selectors import opening_hours, rule_choices
from routing.services import opening_hours_set

manager_only = permission_required("routing.manage_routing", raise_exception=True)


def _labelled(profiles):
    """The rows of `staff_for_routing()` with their response time as text, for the template."""
    profiles = list(profiles)
    for profile in profiles:
        profile.response_label = duration_text(profile.response_seconds, missing="—")
    return profiles


def _staff_page(request, hours_form):
    people = _labelled(staff_for_routing())
    return render(request, "routing/staff.html", {"people": people, "hours_form": hours_form})


@login_required
@manager_only
def staff(request):
    return _staff_page(request, OpeningHoursForm(hours=opening_hours()))


@require_POST
@login_required
@manager_only
def staff_update(request, user_id):
    """Put a person on or off shift, or set their capacity; htmx gets the person's row back."""
    profile = get_object_or_404(staff_for_routing(), user_id=user_id)
    form = StaffRoutingForm(request.POST)
    if not form.is_valid() and "capacity" not in form.errors:
        return HttpResponseBadRequest("Post on_shift=1, on_shift=0 or a capacity.")
    name = person_name(profile.user)
    error = form.errors["capacity"][0] if form.errors else ""
    if not error:
        try:
            staff_set_routing(user=profile.user, by=request.user, **form.cleaned_data)
        except InvalidStaffSetting as refusal:
            error = str(refusal)
    if error:
        error = f"{error} {name}'s capacity stays {profile.capacity}."
    if request.htmx:
        # Reread: the row shows what routing will read, open leads included.
        row = profile if error else get_object_or_404(staff_for_routing(), user_id=user_id)
        return render(
            request,
            "routing/staff.html#staff-row",
            {"person": _labelled([row])[0], "row_error": error},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{name}'s routing is saved.")
    return redirect("lead_routing:staff")


@require_POST
@login_required
@manager_only
def hours_update(request):
    """Replace the opening hours; htmx gets the hours section back."""
    form = OpeningHoursForm(request.POST, hours=opening_hours())
    saved = False
    if form.is_valid():
        try:
            opening_hours_set(hours=form.hours(), by=request.user)
        except InvalidRule as refusal:
            form.add_error(None, refusal.message)
        else:
            saved = True
    if request.htmx:
        if saved:
            # From what was saved: the cached hours are cleared only after the commit.
            form = OpeningHoursForm(hours=form.hours())
        return render(
            request,
            "routing/staff.html#opening-hours",
            {"hours_form": form, "hours_saved": saved},
        )
    if saved:
        messages.success(request, "Opening hours saved.")
        return redirect("lead_routing:staff")
    return _staff_page(request, form)


# --- preview -------------------------------------------------------------------------------


def _pool_name(team_id):
    if team_id is None:
        return "the general pool"
    name = Team.objects.filter(pk=team_id).values_list("name", flat=True).first()
    return f"the {name} pool" if name else "the general pool"


@login_required
@manager_only
def preview(request):
    """Who would get a lead, real or typed in, and why; nothing is assigned or written. A GET
    with the form's fields shows the result (htmx: only the result)."""
    form = PreviewForm(request.GET or None, rule_choices=rule_choices())
    result = None
    if form.is_valid():
        try:
            decision, due_at = routing_preview_for(request.user, form.preview_input())
        except Http404:
            form.add_error("lead", "There is no lead with this number that you may see.")
        else:
            result = {
                "decision": decision,
                "due_at": due_at,
                "pool": "" if decision.owner_id else _pool_name(decision.team_id),
                "strategy": Strategy(decision.strategy).label if decision.strategy else "",
                "candidates": [
                    (candidate, duration_text(candidate.response_seconds, missing="—"))
                    for candidate in decision.candidates
                ],
            }
    template = "routing/preview.html#preview-result" if request.htmx else "routing/preview.html"
    return render(request, template, {"form": form, "result": result})


# --- replay --------------------------------------------------------------------------------


@login_required
@manager_only
def replay(request):
    """The leads of the last days routed again with the active or a draft rule set, next to who
    actually got them. Runs on a GET with the form's fields (htmx: only the result)."""
    form = ReplayForm(request.GET or None, rule_choices=rule_choices())
    result = None
    if form.is_valid():
        result = routing_replay(
            days=form.cleaned_data["days"] or DEFAULT_DAYS, rule_ids=form.rule_ids()
        )
    template = "routing/replay.html#replay-result" if request.htmx else "routing/replay.html"
    return render(request, template, {"form": form, "result": result})
