import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from dealercrm.errors import DomainError
from leads.forms import ReassignForm, WebsiteLeadForm
from leads.intake import lead_intake
from leads.models import LeadEvent, LeadSource
from leads.permissions import get_lead_for_user_or_404
from leads.routing import lead_claim, lead_reassign
from leads.selectors import (
    lead_detail_for_user,
    lead_list_for_user,
    lead_owners,
    leads_disqualified_at_intake_for_user,
)
from leads.services import lead_reopen

LEADS_PER_PAGE = 50


@login_required
def lead_list(request):
    page = Paginator(lead_list_for_user(request.user), LEADS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "leads/lead_list.html", {"page": page})


@login_required
def lead_detail(request, pk):
    lead = lead_detail_for_user(request.user, pk)
    reassign = None
    if lead.is_open and request.user.has_perm("leads.reassign_lead"):
        reassign = ReassignForm(people=lead_owners(), initial={"owner": lead.owner_id})
    can_claim = (
        lead.is_open and lead.owner_id is None and request.user.has_perm("leads.change_lead")
    )
    return render(
        request,
        "leads/lead_detail.html",
        {"lead": lead, "reassign_form": reassign, "can_claim": can_claim},
    )


@require_POST
@login_required
@permission_required("leads.change_lead", raise_exception=True)
def lead_claim_view(request, pk):
    """Take a lead from the pool: the first to claim it gets it."""
    lead = get_lead_for_user_or_404(request.user, pk)
    try:
        lead_claim(lead=lead, by=request.user)
    except DomainError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{lead.customer} is yours: make the first call now.")
    return redirect("leads:detail", pk=lead.pk)


@require_POST
@login_required
@permission_required("leads.reassign_lead", raise_exception=True)
def lead_reassign_view(request, pk):
    lead = get_lead_for_user_or_404(request.user, pk)
    form = ReassignForm(request.POST, people=lead_owners())
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label or field}: {' '.join(errors)}")
        return redirect("leads:detail", pk=lead.pk)
    try:
        lead_reassign(
            lead=lead,
            owner=form.cleaned_data["owner"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
    except DomainError as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Reassigned.")
    return redirect("leads:detail", pk=lead.pk)


@login_required
@permission_required("leads.audit_lead", raise_exception=True)
def intake_audit(request):
    page = Paginator(leads_disqualified_at_intake_for_user(request.user), LEADS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "leads/intake_audit.html", {"page": page})


@require_POST
@login_required
@permission_required("leads.audit_lead", raise_exception=True)
def lead_return_to_work(request, pk):
    """An audit found a real customer among the junk: the lead goes back to work."""
    lead = get_lead_for_user_or_404(request.user, pk)
    lead_reopen(
        lead=lead,
        cause=LeadEvent.ReopenCause.AUDIT,
        by=request.user,
        note=request.POST.get("note", "").strip(),
    )
    messages.success(request, f"{lead.customer} is back at work.")
    return redirect("leads:intake_audit")


# Anyone on the internet may post the hosted form, so each address gets a handful of tries.
WEB_FORM_RATE = "10/m"


# Embeddable in the dealer's site (an iframe), and exempt from CSRF: there is no session to
# ride on, and a third-party iframe does not get our cookies anyway. The honeypot and the rate
# limit keep bots out instead.
@csrf_exempt
@xframe_options_exempt
@ratelimit(key="ip", rate=WEB_FORM_RATE, method="POST", block=False)
def web_form(request, key):
    source = get_object_or_404(LeadSource, key=key, active=True, form_enabled=True)
    if getattr(request, "limited", False):
        return render(
            request, "leads/web_form.html", {"source": source, "limited": True}, status=429
        )
    if request.method == "POST":
        form = WebsiteLeadForm(request.POST)
        if form.is_valid():
            fields = {
                name: value for name, value in request.POST.items() if name != "csrfmiddlewaretoken"
            }
            lead_intake(form.submission(source, json.dumps(fields, ensure_ascii=False)))
            return redirect(f"{request.path}?sent=1")
    else:
        form = WebsiteLeadForm(initial={"visitor_id": request.GET.get("visitor_id", "")})
    return render(
        request,
        "leads/web_form.html",
        {"source": source, "form": form, "sent": request.GET.get("sent") == "1"},
    )
