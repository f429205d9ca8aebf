import json

from csp.decorators import csp_replace
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dealercrm.errors import DomainError
from dealercrm.ratelimits import limit_count
from dealercrm.redirects import next_url
from leads.errors import LeadChangedMeanwhile
from leads.filters import BoardFilter, DisqualifiedFilter, QueueFilter
from leads.followup import followup_steps_set
from leads.forms import (
    ActivityForm,
    AppointmentForm,
    BulkReassignForm,
    FollowUpStepFormSet,
    ReassignForm,
    ReopenForm,
    StatusForm,
    WebsiteLeadForm,
)
from leads.intake import lead_intake
from leads.models import OPEN_STATUSES, Activity, FollowUpStep, Lead, LeadEvent, LeadSource
from leads.permissions import get_lead_for_user_or_404, lead_queryset_for_user
from leads.routing import lead_claim, lead_reassign
from leads.selectors import (
    closing_reasons,
    disqualified_leads_for_user,
    lead_detail_for_user,
    lead_list_for_user,
    lead_owners,
    lead_timeline,
    open_tasks_of_lead,
    other_leads_of_customer,
    queue_counters,
    queue_for_user,
    staff_workload,
)
from leads.services import (
    activity_log,
    followup_task_complete,
    lead_change_status,
    lead_reopen,
    lead_set_appointment,
)

LEADS_PER_PAGE = 50
QUEUE_PER_PAGE = 25


@login_required
@permission_required("leads.view_lead", raise_exception=True)
def lead_list(request):
    page = Paginator(lead_list_for_user(request.user), LEADS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "leads/lead_list.html", {"page": page})


@login_required
@permission_required("leads.view_lead", raise_exception=True)
def queue(request):
    """My queue: the person's open leads, most urgent first, with filters and search. A filter
    change asks htmx for the results alone."""
    today = timezone.localdate()
    filters = QueueFilter(request.GET, queryset=queue_for_user(request.user, today))
    page = Paginator(filters.qs, QUEUE_PER_PAGE).get_page(request.GET.get("page"))
    context = {"filters": filters, "page": page, "today": today, "now": timezone.now()}
    if request.htmx and request.htmx.target == "queue-results":
        return render(request, "leads/queue.html#results", context)
    context["counters"] = queue_counters(request.user, today)
    return render(request, "leads/queue.html", context)


@login_required
@permission_required("leads.view_lead", raise_exception=True)
def queue_counters_view(request):
    """The counters above the queue, refreshed by htmx every minute and after every action."""
    today = timezone.localdate()
    return render(
        request,
        "leads/queue.html#counters",
        {"counters": queue_counters(request.user, today), "today": today},
    )


@login_required
def lead_detail(request, pk):
    lead = lead_detail_for_user(request.user, pk)
    return render(request, "leads/lead_detail.html", _lead_page(request, lead))


def _lead_page(request, lead, **workspace):
    user = request.user
    reassign = None
    if lead.is_open and user.has_perm("leads.reassign_lead"):
        reassign = ReassignForm(people=lead_owners(), initial={"owner": lead.owner_id})
    can_claim = lead.is_open and lead.owner_id is None and user.has_perm("leads.change_lead")
    return {
        **_workspace(request, lead, **workspace),
        "reassign_form": reassign,
        "can_claim": can_claim,
        "other_leads": other_leads_of_customer(user, lead),
    }


def _may_work(user, lead):
    """Whether `user` may log on and move this lead: its owner, or a manager. A pool lead is
    claimed first, so that two people never work one customer without knowing it."""
    if not user.has_perm("leads.change_lead"):
        return False
    return lead.owner_id == user.pk or user.has_perm("leads.view_all_leads")


def _workspace(request, lead, *, bound=None, notice="", notice_kind="success"):
    """What the workspace part of the lead page shows: the actions, the open tasks, the
    timeline. Every form is fresh except `bound`, a form that came back with errors: it takes
    its place (found by its prefix) and stays open."""
    seen = {"seen": lead.edit_token}

    def form(form_class, prefix=None, initial=None, **kwargs):
        if bound is not None and bound.prefix == (prefix or form_class.prefix):
            return bound
        return form_class(prefix=prefix, initial={**seen, **(initial or {})}, **kwargs)

    return {
        "lead": lead,
        "may_work": _may_work(request.user, lead),
        "timeline": lead_timeline(lead),
        "tasks": [
            (
                task,
                form(
                    ActivityForm,
                    prefix=f"task-{task.pk}",
                    initial={"kind": task.channel or Activity.Kind.CALL},
                ),
            )
            for task in open_tasks_of_lead(lead)
        ],
        "activity_form": form(ActivityForm),
        "status_form": form(StatusForm, lead=lead, reasons=closing_reasons()),
        "appointment_form": form(AppointmentForm),
        "reopen_form": form(ReopenForm),
        "opened": bound.prefix if bound is not None else "",
        "notice": notice,
        "notice_kind": notice_kind,
        "today": timezone.localdate(),
    }


# A quick action answers htmx with the workspace again; these statuses tell it what happened
# (the page's htmx config swaps them in too, so the person sees the errors or the conflict).
INVALID, CONFLICT = 422, 409


def _workspace_action(request, pk, make_form, perform):
    """The one path of every quick action: fetch the lead the person may see, check the form,
    call the service, answer with the updated workspace (htmx) or a redirect (a plain POST).

    `perform(lead, form)` calls the service and returns the words of success. A lead that is
    no longer visible (reassigned away) or changed meanwhile is a conflict, not an overwrite.
    """
    try:
        lead = get_lead_for_user_or_404(request.user, pk)
    except Http404:
        if not any(name.endswith("seen") for name in request.POST):
            raise
        return _conflict_gone(request)
    form = make_form(lead, request.POST)
    status, notice, notice_kind = 200, "", "success"
    if not _may_work(request.user, lead):
        status, notice, notice_kind = 403, "Claim this lead before working it.", "error"
    elif not form.is_valid():
        status = INVALID
    else:
        try:
            notice = perform(lead, form)
        except LeadChangedMeanwhile as conflict:
            status, notice, notice_kind = CONFLICT, str(conflict), "error"
        except DomainError as refusal:
            status, notice, notice_kind = INVALID, str(refusal), "error"
    if not request.htmx:
        if notice:
            messages.add_message(
                request, messages.SUCCESS if status == 200 else messages.ERROR, notice
            )
        for error in form.errors.values() if status == INVALID else ():
            messages.error(request, " ".join(error))
        return redirect("leads:detail", pk=pk)
    lead = lead_detail_for_user(request.user, pk)
    response = render(
        request,
        "leads/lead_detail.html#workspace",
        _workspace(
            request,
            lead,
            bound=form if status == INVALID else None,
            notice=notice,
            notice_kind=notice_kind,
        ),
        status=status,
    )
    if status == 200:
        response["HX-Trigger"] = "leadChanged"
    return response


def _conflict_gone(request):
    """The lead left the person's view while they had it open (reassigned to someone else).
    Missing and not-yours read alike, so nothing is revealed about leads one may not see."""
    notice = "This lead is no longer yours: it was reassigned meanwhile. Nothing was saved."
    if not request.htmx:
        messages.error(request, notice)
        return redirect("leads:queue")
    return render(
        request,
        "leads/lead_detail.html#gone",
        {"notice": notice},
        status=CONFLICT,
    )


@require_POST
@login_required
def lead_log_activity(request, pk):
    def perform(lead, form):
        activity = activity_log(
            lead=lead, by=request.user, seen=form.cleaned_data["seen"], **form.activity()
        )
        short = " (short call)" if activity.is_short_call else ""
        return f"{activity.get_kind_display()} logged{short}."

    return _workspace_action(request, pk, lambda lead, data: ActivityForm(data), perform)


@require_POST
@login_required
def lead_status(request, pk):
    def perform(lead, form):
        data = form.cleaned_data
        lead = lead_change_status(
            lead=lead,
            to_status=data["to_status"],
            by=request.user,
            reason=data["reason"],
            note=data["note"].strip(),
            seen=data["seen"],
        )
        return f"Marked {lead.get_status_display().lower()}."

    return _workspace_action(
        request,
        pk,
        lambda lead, data: StatusForm(data, lead=lead, reasons=closing_reasons()),
        perform,
    )


@require_POST
@login_required
def lead_appointment(request, pk):
    def perform(lead, form):
        data = form.cleaned_data
        lead_set_appointment(
            lead=lead,
            starts_at=data["starts_at"],
            by=request.user,
            note=data["note"].strip(),
            seen=data["seen"],
        )
        return f"Appointment set for {timezone.localtime(data['starts_at']):%a %b %-d, %H:%M}."

    return _workspace_action(request, pk, lambda lead, data: AppointmentForm(data), perform)


@require_POST
@login_required
def lead_reopen_view(request, pk):
    def perform(lead, form):
        data = form.cleaned_data
        lead = lead_reopen(
            lead=lead,
            cause=LeadEvent.ReopenCause.PERSON,
            by=request.user,
            note=data["note"].strip(),
            seen=data["seen"],
        )
        return f"Back at work as {lead.get_status_display().lower()}."

    return _workspace_action(request, pk, lambda lead, data: ReopenForm(data), perform)


@require_POST
@login_required
def lead_task_complete(request, pk, task_pk):
    """Complete a task by saying what was done; the touch goes on the lead's timeline."""

    def make_form(lead, data):
        return ActivityForm(data, prefix=f"task-{task_pk}")

    def perform(lead, form):
        task = get_object_or_404(lead.tasks, pk=task_pk)
        followup_task_complete(
            task=task, by=request.user, seen=form.cleaned_data["seen"], **form.activity()
        )
        return f"Done: {task.title}"

    return _workspace_action(request, pk, make_form, perform)


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


@require_POST
@login_required
@permission_required("leads.audit_lead", raise_exception=True)
def lead_return_to_work(request, pk):
    """An audit found a real customer among the junk: the lead goes back to work."""
    lead = get_lead_for_user_or_404(request.user, pk)
    try:
        lead_reopen(
            lead=lead,
            cause=LeadEvent.ReopenCause.AUDIT,
            by=request.user,
            note=request.POST.get("note", "").strip(),
        )
    except DomainError as refusal:
        # Another manager returned it first, or it was never disqualified.
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"{lead.customer} is back at work.")
    return redirect(next_url(request, reverse("leads:disqualified")))


@login_required
def home(request):
    """Where a person starts: managers on the team board, sales staff in their queue, service
    staff at the service desk."""
    if request.user.has_perm("leads.view_all_leads"):
        return redirect("leads:board")
    if request.user.has_perm("leads.view_lead"):
        return redirect("leads:queue")
    if request.user.has_perm("service.view_serviceopportunity"):
        return redirect("service:desk")
    return redirect("notifications")


@login_required
@permission_required("leads.view_all_leads", raise_exception=True)
def board(request):
    """The team board: every lead with filters, bulk reassignment, and each person's load and
    overdue share."""
    people = lead_owners()
    filters = BoardFilter(request.GET, queryset=lead_list_for_user(request.user), people=people)
    page = Paginator(filters.qs, LEADS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "leads/board.html",
        {
            "filters": filters,
            "page": page,
            "reassign_form": BulkReassignForm(leads=Lead.objects.none(), people=people),
            "workload": staff_workload(timezone.localdate()),
            "may_reassign": request.user.has_perm("leads.reassign_lead"),
        },
    )


@require_POST
@login_required
@permission_required("leads.reassign_lead", raise_exception=True)
def board_reassign(request):
    """Reassign the ticked leads through routing's reassignment, all or none: a lead that
    closed meanwhile stops the whole batch and is named."""
    form = BulkReassignForm(
        request.POST,
        leads=lead_queryset_for_user(request.user).filter(status__in=sorted(OPEN_STATUSES)),
        people=lead_owners(),
    )
    back = next_url(request, reverse("leads:board"))
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label or 'Leads'}: {' '.join(errors)}")
        return redirect(back)
    data = form.cleaned_data
    leads = sorted(data["leads"], key=lambda lead: lead.pk)  # one lock order for every batch
    lead = None
    try:
        with transaction.atomic():
            for lead in leads:  # noqa: B007 (the failing lead is named below)
                lead_reassign(
                    lead=lead, owner=data["owner"], by=request.user, reason=data["reason"]
                )
    except DomainError as refusal:
        messages.error(
            request, f"Nothing was reassigned. {lead.customer} (lead {lead.pk}): {refusal}"
        )
    else:
        to = data["owner"].get_full_name() if data["owner"] else "the pool"
        messages.success(request, f"{len(leads)} lead{pluralize(len(leads))} given to {to}.")
    return redirect(back)


@login_required
@permission_required("leads.audit_lead", raise_exception=True)
def disqualified_audit(request):
    filters = DisqualifiedFilter(
        request.GET, queryset=disqualified_leads_for_user(request.user), reasons=closing_reasons()
    )
    page = Paginator(filters.qs, LEADS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "leads/disqualified.html", {"filters": filters, "page": page})


@login_required
@permission_required("leads.change_followupstep", raise_exception=True)
def followup_plan(request):
    """The follow-up plan's steps, which every newly contacted lead gets."""
    if request.method == "POST":
        formset = FollowUpStepFormSet(request.POST)
        if formset.is_valid():
            steps = [
                (row["day"], row["channel"], row["instruction"])
                for row in formset.cleaned_data
                if row and not row.get("DELETE")
            ]
            followup_steps_set(steps)
            messages.success(request, f"The plan has {len(steps)} steps now.")
            return redirect("leads:plan")
    else:
        formset = FollowUpStepFormSet(
            initial=[
                {"day": step.day, "channel": step.channel, "instruction": step.instruction}
                for step in FollowUpStep.objects.all()
            ]
        )
    return render(request, "leads/followup_plan.html", {"formset": formset})


# Embeddable in the dealer's site (an iframe, whatever the dealer's domains: X-Frame-Options and
# the CSP's frame-ancestors allow it), and exempt from CSRF: there is no session to ride on, and
# a third-party iframe does not get our cookies anyway. The honeypot and the rate limit
# (RATE_LIMITS["web_form"]: anyone on the internet may post, so each address gets a handful of
# tries) keep bots out instead.
@csrf_exempt
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})
def web_form(request, key):
    source = get_object_or_404(LeadSource, key=key, active=True, form_enabled=True)
    wait = limit_count(request, "web_form", "ip") if request.method == "POST" else None
    if wait:
        response = render(
            request, "leads/web_form.html", {"source": source, "limited": True}, status=429
        )
        response["Retry-After"] = str(wait)
        return response
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
