"""The routing pages of BDC and sales managers: the ordered rule list and the rule form."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from routing.errors import InvalidRule
from routing.forms import RuleActiveForm, RuleForm, RuleMoveForm
from routing.models import RoutingRule
from routing.selectors import rules_for_page
from routing.services import rule_create, rule_delete, rule_move, rule_update

manager_only = permission_required("routing.manage_routing", raise_exception=True)


def _rules(request, error=""):
    """The rule list: the whole page, or for htmx only the list it swaps in."""
    template = "routing/rule_list.html#rule-list" if request.htmx else "routing/rule_list.html"
    return render(request, template, {"rules": rules_for_page(), "error": error})


@login_required
@manager_only
def rule_list(request):
    return _rules(request)


@require_POST
@login_required
@manager_only
def rule_toggle(request, pk):
    rule = get_object_or_404(RoutingRule, pk=pk)
    form = RuleActiveForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Post active=1 or active=0.")
    active = form.cleaned_data["active"]
    error = ""
    try:
        rule_update(rule=rule, by=request.user, active=active)
    except InvalidRule as refusal:
        # Every change re-checks the rule (a manager who has left, say): say what to fix.
        error = f"{rule.name} cannot change until it is fixed: {refusal}"
    if request.htmx:
        return _rules(request, error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{rule.name} is {'on' if active else 'off'}.")
    return redirect("routing:rules")


@require_POST
@login_required
@manager_only
def rule_reorder(request, pk):
    rule = get_object_or_404(RoutingRule, pk=pk)
    form = RuleMoveForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Post offset=-1 (up) or offset=1 (down).")
    rule_move(rule=rule, by=request.user, offset=form.cleaned_data["offset"])
    if request.htmx:
        return _rules(request)
    return redirect("routing:rules")


@login_required
@manager_only
def rule_new(request):
    form = RuleForm(request.POST or None)
    if form.is_valid():
        try:
            rule = rule_create(by=request.user, **form.rule_fields())
        except InvalidRule as refusal:
            form.add_refusal(refusal)
        else:
            messages.success(request, f"Rule {rule.name} created.")
            return redirect("routing:rules")
    return render(request, "routing/rule_form.html", {"form": form, "rule": None})


@login_required
@manager_only
def rule_edit(request, pk):
    rule = get_object_or_404(rules_for_page(), pk=pk)
    form = RuleForm(request.POST or None, rule=rule)
    if form.is_valid():
        try:
            rule = rule_update(rule=rule, by=request.user, **form.rule_fields())
        except InvalidRule as refusal:
            form.add_refusal(refusal)
        else:
            messages.success(request, f"Rule {rule.name} saved.")
            return redirect("routing:rules")
    return render(request, "routing/rule_form.html", {"form": form, "rule": rule})


@require_POST
@login_required
@manager_only
def rule_remove(request, pk):
    rule = get_object_or_404(RoutingRule, pk=pk)
    rule_delete(rule=rule, by=request.user)
    messages.success(request, f"Rule {rule.name} deleted.")
    return redirect("routing:rules")
