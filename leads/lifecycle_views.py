"""The managers' life-cycle pages: the comebacks waiting for a decision (with what the sweeps
brought back lately) and the life-cycle settings the sweeps follow."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from dealercrm.models import person_name
from leads.errors import InvalidLifecycleSetting
from leads.lifecycle_forms import LifecycleSettingsForm
from leads.lifecycle_selectors import comebacks_for_review, recent_comebacks
from leads.lifecycle_settings import lifecycle_settings_set
from leads.models import LifecycleSettings, Resurfacing
from leads.permissions import get_resurfacing_for_user_or_404
from leads.resurfacing import resurfacing_review_decide

reviewers_only = permission_required("leads.change_resurfacing", raise_exception=True)

# A decision someone else made first: the row says so (htmx swaps a 409 in, see base.html).
ALREADY_DECIDED = 409


@login_required
@reviewers_only
def comebacks(request):
    """Lost customers shopping again, waiting for a manager to return them to work or dismiss
    them; and the comebacks of every kind the sweeps found lately."""
    return render(
        request,
        "leads/comebacks.html",
        {
            "pending": comebacks_for_review(request.user),
            "recent": recent_comebacks(request.user),
        },
    )


@require_POST
@login_required
@reviewers_only
def comeback_decide(request, pk):
    """Return a comeback's lead to work (decision=reopen) or dismiss it (decision=dismiss).
    htmx gets the row back as one line saying what happened; a plain POST goes back to the
    queue with the same words."""
    decision = request.POST.get("decision")
    if decision not in ("reopen", "dismiss"):
        return HttpResponseBadRequest("Post decision=reopen or decision=dismiss.")
    resurfacing = get_resurfacing_for_user_or_404(
        request.user, pk, Resurfacing.objects.select_related("lead__customer")
    )
    lead = resurfacing.lead
    was_open = lead.is_open
    decided = resurfacing_review_decide(
        resurfacing=resurfacing, by=request.user, reopen=decision == "reopen"
    )
    status = 200
    if decided is None:
        status, notice = ALREADY_DECIDED, _already_decided(pk, lead)
    elif decision == "dismiss":
        notice = (
            f"Dismissed: {lead.customer} stays {lead.get_status_display().lower()}. Only new "
            f"visits to the website can bring the lead back."
        )
    elif was_open:
        notice = f"{lead.customer} was already back at work; the comeback is closed."
    elif decided.owner_id:
        notice = f"{lead.customer} is back at work with {person_name(decided.owner)}, who was told."
    else:
        notice = f"{lead.customer} is back at work and waits in the pool."
    if request.htmx:
        response = render(
            request,
            "leads/comebacks.html#decided",
            {"item": resurfacing, "notice": notice, "ok": status == 200},
            status=status,
        )
        if status == 200:
            response["HX-Trigger"] = "comebackDecided"
        return response
    messages.add_message(request, messages.SUCCESS if status == 200 else messages.ERROR, notice)
    return redirect("leads:comebacks")


def _already_decided(pk, lead):
    earlier = Resurfacing.objects.select_related("decided_by").get(pk=pk)
    if earlier.decided_by_id is None:
        return f"Already decided: {lead.customer}'s comeback is closed. Nothing was changed."
    who = person_name(earlier.decided_by)
    if earlier.outcome == Resurfacing.Outcome.REOPENED:
        what = f"{who} returned {lead.customer} to work"
    else:
        what = f"{who} dismissed {lead.customer}'s comeback"
    at = timezone.localtime(earlier.decided_at)
    return f"Already decided: {what} at {at:%H:%M} on {at:%b %-d}. Nothing was changed."


@login_required
@permission_required("leads.view_lifecyclesettings", raise_exception=True)
def lifecycle_settings(request):
    """The settings the sweeps follow: quiet tiers, what a lost customer shopping again
    brings about, archiving, recycling ahead of life-cycle dates, the reminder hour. Anyone who
    may see them sees the page; saving needs the right to change them."""
    may_change = request.user.has_perm("leads.change_lifecyclesettings")
    current = LifecycleSettings.current()
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        form = LifecycleSettingsForm(request.POST, instance=current)
        if form.is_valid():
            try:
                lifecycle_settings_set(by=request.user, **form.cleaned_data)
            except InvalidLifecycleSetting as refusal:
                form.add_error(
                    refusal.field if refusal.field in form.fields else None, str(refusal)
                )
            else:
                messages.success(
                    request, "Life-cycle settings saved; each sweep uses them from its next run."
                )
                return redirect("leads:lifecycle_settings")
    else:
        form = LifecycleSettingsForm(instance=current, read_only=not may_change)
    return render(
        request, "leads/lifecycle_settings.html", {"form": form, "may_change": may_change}
    )
