"""The service reports and the customers: the KPIs (page and CSV), the customers by retention
risk and each customer's page with their issues, and the corrective actions."""

import csv

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from dealercrm.charts import Bar, bar_chart, column_chart
from dealercrm.formats import money_text
from dealercrm.forms import PeriodForm
from dealercrm.models import Customer
from service.customers import customer_search, segment_rules, service_customers, value_of
from service.customers import with_values as customers_with_values
from service.errors import InvalidIssue, InvalidLoss
from service.kpis import ACTIONS_SHOWN, corrective_action_figures, service_kpis
from service.models import CorrectiveAction, CustomerIssue, ServiceLoss, ServiceOpportunity
from service.permissions import can_see_money, get_issue_for_user_or_404
from service.report_forms import (
    CorrectiveActionForm,
    CustomerSearchForm,
    IssueForm,
    IssueResolveForm,
)
from service.services import corrective_action_add, issue_open, issue_resolve

KPI_PERMISSIONS = ("service.view_service_kpis", "service.view_service_money")
CUSTOMERS_PER_PAGE = 50
ACTIONS_PER_PAGE = 20
LATEST_OPPORTUNITIES = 10
ISSUES_SHOWN = 30
# A form that came back with errors (the page's htmx config swaps it in), and a change someone
# else made first.
INVALID, CONFLICT = 422, 409

kpi_readers = permission_required(KPI_PERMISSIONS, raise_exception=True)
service_readers = permission_required("service.view_serviceopportunity", raise_exception=True)


# --- KPIs ----------------------------------------------------------------------------------


@login_required
@kpi_readers
def kpis(request):
    """Lost revenue by reason, advisor and month, against the money at stake and the previous
    period; what came back; and whether the corrective actions worked. Changing the period
    asks htmx for the results alone."""
    today = timezone.localdate()
    form = PeriodForm(request.GET or None, today=today)
    context, status = {"form": form, "kpis": None}, 200
    if form.is_bound and not form.is_valid():
        status = INVALID
    else:
        period = form.period()
        figures = service_kpis(period.start, period.end, today)
        context.update(
            kpis=figures,
            charts=_charts(figures),
            csv_url=f"{reverse('service:kpis_csv')}?start={period.start}&end={period.end}",
            actions_shown=ACTIONS_SHOWN,
            may_see_money=True,
        )
    template = "service/kpis.html"
    if request.htmx and request.htmx.target == "kpi-results":
        template += "#results"
    return render(request, template, context, status=status)


def _charts(figures):
    return {
        "reasons": bar_chart(
            [Bar(row.label, row.lost, previous=row.previous_lost) for row in figures.by_reason],
            title="Lost revenue by reason, this period and the one before",
            chart_id="chart-lost-by-reason",
            value_text=money_text,
        ),
        "advisors": bar_chart(
            [Bar(row.name, row.lost) for row in figures.by_advisor],
            title="Lost revenue by advisor",
            chart_id="chart-lost-by-advisor",
            value_text=money_text,
        ),
        "months": column_chart(
            [
                Bar(f"{row.month:%B %Y}", row.lost, short=f"{row.month:%b}")
                for row in figures.by_month
            ],
            title="Lost revenue by month",
            chart_id="chart-lost-by-month",
            value_text=money_text,
        ),
        "recovery": bar_chart(
            [
                Bar("Lost in the period", figures.recovery.lost),
                Bar("Won back (delivered)", figures.recovery.won_back),
                Bar("Booked back (still open)", figures.recovery.booked_back),
            ],
            title="What came back of the money lost in the period",
            chart_id="chart-recovery",
            value_text=money_text,
        ),
        "actions": _actions_chart(figures.actions),
    }


def _actions_chart(actions):
    return bar_chart(
        [
            Bar(
                f"{row.action} ({row.reason_label})",
                row.after_count_share or 0,
                previous=row.before_count_share or 0,
            )
            for row in actions
        ],
        title="The reason's share of the losses, before and after each corrective action",
        chart_id="chart-corrective-actions",
        value_text=lambda value: f"{value}%",
        previous_label="Before",
        current_label="After",
    )


@login_required
@kpi_readers
def kpis_csv(request):
    """The KPIs of the period as CSV, one row per figure; money in the dealership's currency
    (named in the header), percentages as numbers."""
    today = timezone.localdate()
    form = PeriodForm(request.GET or None, today=today)
    if form.is_bound and not form.is_valid():
        words = " ".join(error for errors in form.errors.values() for error in errors)
        return HttpResponse(words, status=400, content_type="text/plain; charset=utf-8")
    period = form.period()
    figures = service_kpis(period.start, period.end, today)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="service-kpis-{period.start}-to-{period.end}.csv"'
    )
    csv.writer(response).writerows(kpi_csv_rows(figures))
    return response


def kpi_csv_rows(figures):
    """The CSV's rows, header first: section, key, label, lost, at stake, percent, previous,
    change, count.

    `lost` is the money lost the row is about (in the recovery section: the lost money won or
    booked back); `percent` is of `at stake` where there is one, else as its label says;
    `previous` and `change` compare with the period before (reasons, totals) or, for a
    corrective action, before and after its start in percentage points."""
    symbol = settings.CURRENCY_SYMBOL
    yield [
        "section",
        "key",
        "label",
        f"lost ({symbol})",
        f"at stake ({symbol})",
        "percent",
        "previous",
        "change",
        "count",
    ]

    def row(
        section, key, label, lost="", at_stake="", percent=None, previous="", change="", count=""
    ):
        return [
            section,
            key,
            label,
            lost,
            at_stake,
            "" if percent is None else percent,
            "" if previous is None else previous,
            "" if change is None else change,
            count,
        ]

    totals, trend = figures.totals, figures.trend
    yield row(
        "period",
        "current",
        f"{figures.period.start} to {figures.period.end}: lost and at stake",
        totals.lost,
        totals.at_stake,
        totals.percent,
        trend.previous.lost,
        trend.lost_change,
        totals.losses,
    )
    yield row(
        "period",
        "previous",
        f"{figures.previous_period.start} to {figures.previous_period.end}: lost and at stake",
        trend.previous.lost,
        trend.previous.at_stake,
        trend.previous.percent,
        count=trend.previous.losses,
    )
    yield row(
        "period",
        "percent_change",
        "Lost as a % of at stake: change in points",
        percent=totals.percent,
        previous=trend.previous.percent,
        change=trend.percent_change,
    )
    for reason in figures.by_reason:
        yield row(
            "reason",
            reason.code,
            reason.label,
            reason.lost,
            totals.at_stake,
            reason.percent_of_stake,
            reason.previous_lost,
            reason.change,
            reason.losses,
        )
    for reason in figures.by_reason:
        yield row(
            "reason_share",
            reason.code,
            f"{reason.label}: share of all money lost",
            reason.lost,
            percent=reason.share_of_lost,
            count=reason.losses,
        )
    for advisor in figures.by_advisor:
        yield row(
            "advisor",
            "" if advisor.advisor_id is None else advisor.advisor_id,
            advisor.name,
            advisor.lost,
            advisor.at_stake,
            advisor.percent,
            count=advisor.losses,
        )
    for month in figures.by_month:
        yield row(
            "month",
            f"{month.month:%Y-%m}",
            f"{month.month:%B %Y}",
            month.lost,
            month.at_stake,
            month.percent,
            count=month.losses,
        )
    recovery = figures.recovery
    yield row("recovery", "lost", "Lost in the period", recovery.lost, count=recovery.losses)
    yield row(
        "recovery",
        "won_back",
        "Won back: recovery work delivered",
        recovery.won_back,
        percent=recovery.won_back_percent,
        count=recovery.won_back_count,
    )
    yield row(
        "recovery",
        "booked_back",
        "Booked back: recovery work still open",
        recovery.booked_back,
        percent=recovery.booked_back_percent,
        count=recovery.booked_back_count,
    )
    yield row("recovery", "recaptures", "Brought back to someone", count=recovery.recaptures)
    yield row(
        "recovery",
        "recaptures_booked",
        "Brought back and booked",
        count=recovery.recaptures_booked,
    )
    for action in figures.actions:
        windows = (
            f"{action.before_start} to {action.before_end} vs {action.after_start} to "
            f"{action.after_end}"
        )
        name = f"{action.action} ({action.reason_label})"
        yield row(
            "action",
            f"{action.action_id}-count",
            f"{name}: share of losses by count, {windows}",
            percent=action.after_count_share,
            previous=action.before_count_share,
            change=action.count_share_change,
            count=action.after_reason_losses,
        )
        yield row(
            "action",
            f"{action.action_id}-money",
            f"{name}: share of money lost, {windows}",
            action.after_reason_lost,
            percent=action.after_money_share,
            previous=action.before_money_share,
            change=action.money_share_change,
        )


# --- customers -----------------------------------------------------------------------------


@login_required
@service_readers
def customers(request):
    """Service customers by retention risk: filter by segment, search by name, phone or
    e-mail. Typing in the search asks htmx for the results alone."""
    today = timezone.localdate()
    form = CustomerSearchForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    listed = service_customers(
        today, segment=data.get("segment", ""), search=customer_search(data.get("q", ""))
    )
    page = Paginator(listed, CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    may_see_money = can_see_money(request.user)
    context = {
        "form": form,
        "page": page,
        "may_see_money": may_see_money,
        "rules": segment_rules(money_text if may_see_money else None),
    }
    template = "service/customers.html"
    if request.htmx and request.htmx.target == "customer-results":
        template += "#results"
    return render(request, template, context)


@login_required
@service_readers
def customer(request, pk):
    """A customer: contact, cars, value and retention segment, open issues first, the lost
    sales still to win back, the latest service work."""
    return render(request, "service/customer.html", _customer_page(request, pk))


def _customer(pk, today):
    return get_object_or_404(customers_with_values(Customer.objects.all(), today), pk=pk)


def _issues(customer):
    """The customer's issues, the open ones first, each newest first."""
    return list(
        CustomerIssue.objects.filter(customer=customer)
        .select_related("vehicle", "opened_by", "resolved_by")
        .order_by(
            Case(
                When(status=CustomerIssue.Status.OPEN, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            "-opened_at",
            "-id",
        )[:ISSUES_SHOWN]
    )


def _issues_part(
    request,
    customer,
    vehicles,
    *,
    issue_form=None,
    resolving=None,
    notice="",
    notice_kind="success",
):
    """What the issues part of the customer page shows. `issue_form` is a new-issue form that
    came back with errors; `resolving` is (issue id, form) for a resolve form that did."""
    user = request.user
    may_add = user.has_perm("service.add_customerissue")
    may_resolve = user.has_perm("service.change_customerissue")
    issues = _issues(customer) if user.has_perm("service.view_customerissue") else None
    rows = []
    for issue in issues or ():
        form = None
        if may_resolve and issue.status == CustomerIssue.Status.OPEN:
            if resolving and resolving[0] == issue.pk:
                form = resolving[1]
            else:
                form = IssueResolveForm(prefix=f"resolve-{issue.pk}")
        rows.append((issue, form))
    if may_add and issue_form is None:
        issue_form = IssueForm(vehicles=vehicles)
    return {
        "customer": customer,
        "issues": rows if issues is not None else None,
        "issue_form": issue_form if may_add else None,
        "notice": notice,
        "notice_kind": notice_kind,
    }


def _customer_page(request, pk, **issues):
    today = timezone.localdate()
    customer = _customer(pk, today)
    vehicles = list(customer.vehicles.order_by("-year", "make", "model", "pk"))
    may_see_money = can_see_money(request.user)
    return {
        **_issues_part(request, customer, vehicles, **issues),
        "value": value_of(customer),
        "vehicles": vehicles,
        "may_see_money": may_see_money,
        "rules": segment_rules(money_text if may_see_money else None),
        "to_win_back": list(
            ServiceLoss.objects.filter(
                opportunity__customer=customer, recovery=ServiceLoss.Recovery.PENDING
            )
            .select_related("opportunity", "reason")
            .order_by("-at", "-id")
        ),
        "latest": list(
            ServiceOpportunity.objects.filter(customer=customer)
            .select_related("vehicle", "advisor")
            .order_by("-created_at", "-id")[:LATEST_OPPORTUNITIES]
        ),
    }


def _issues_answer(request, customer, *, status=200, notice="", notice_kind="success", **part):
    """After a change to an issue: htmx gets the issues part again (with the errors or the
    notice), a plain POST goes back to the customer page."""
    if not request.htmx:
        if notice:
            messages.add_message(
                request, messages.SUCCESS if status == 200 else messages.ERROR, notice
            )
        if status == INVALID:
            return render(
                request,
                "service/customer.html",
                _customer_page(
                    request, customer.pk, notice=notice, notice_kind=notice_kind, **part
                ),
                status=status,
            )
        return redirect("service:customer", pk=customer.pk)
    vehicles = list(customer.vehicles.order_by("-year", "make", "model", "pk"))
    response = render(
        request,
        "service/partials/_customer_issues.html",
        _issues_part(request, customer, vehicles, notice=notice, notice_kind=notice_kind, **part),
        status=status,
    )
    if status == 200:
        response["HX-Trigger"] = "issueChanged"
    return response


@require_POST
@login_required
@permission_required("service.add_customerissue", raise_exception=True)
def issue_new(request, pk):
    """Open an issue for the customer."""
    customer = get_object_or_404(Customer, pk=pk)
    vehicles = list(customer.vehicles.order_by("-year", "make", "model", "pk"))
    form = IssueForm(request.POST, vehicles=vehicles)
    if form.is_valid():
        try:
            issue = issue_open(customer=customer, by=request.user, **form.cleaned_data)
        except InvalidIssue as refusal:
            form.add_error(None, str(refusal))
        else:
            return _issues_answer(request, customer, notice=f"Issue opened: {issue.summary}")
    return _issues_answer(request, customer, status=INVALID, issue_form=form)


@require_POST
@login_required
@permission_required("service.change_customerissue", raise_exception=True)
def issue_resolve_view(request, pk):
    """Resolve an open issue, saying how. Resolved meanwhile by someone else: a conflict that
    says so, nothing changed."""
    issue = get_issue_for_user_or_404(
        request.user, pk, CustomerIssue.objects.select_related("customer")
    )
    form = IssueResolveForm(request.POST, prefix=f"resolve-{issue.pk}")
    if not form.is_valid():
        return _issues_answer(request, issue.customer, status=INVALID, resolving=(issue.pk, form))
    try:
        issue_resolve(issue=issue, by=request.user, resolution=form.cleaned_data["resolution"])
    except InvalidIssue as refusal:
        return _issues_answer(
            request, issue.customer, status=CONFLICT, notice=str(refusal), notice_kind="error"
        )
    return _issues_answer(request, issue.customer, notice=f"Resolved: {issue.summary}")


# --- corrective actions --------------------------------------------------------------------


@login_required
@permission_required("service.view_correctiveaction", raise_exception=True)
def corrective_actions(request):
    """What was done against a loss reason, each with the reason's share of the losses before
    and after; a service manager adds one here."""
    today = timezone.localdate()
    may_add = request.user.has_perm("service.add_correctiveaction")
    form = CorrectiveActionForm(initial={"started_on": today}) if may_add else None
    status = 200
    if request.method == "POST":
        if not may_add:
            raise PermissionDenied
        form = CorrectiveActionForm(request.POST)
        if form.is_valid():
            try:
                action = corrective_action_add(by=request.user, **form.cleaned_data)
            except InvalidLoss as refusal:
                form.add_error(None, str(refusal))
            else:
                messages.success(
                    request,
                    f"Recorded: {action.action}. Its effect shows here as the days pass.",
                )
                return redirect("service:corrective_actions")
        status = INVALID
    page = Paginator(
        CorrectiveAction.objects.select_related("reason", "created_by").order_by(
            "-started_on", "-id"
        ),
        ACTIONS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    figures = corrective_action_figures(list(page), today)
    return render(
        request,
        "service/corrective_actions.html",
        {
            "page": page,
            "figures": figures,
            "rows": list(zip(page, figures, strict=True)),
            "chart": _actions_chart(figures),
            "form": form,
            "may_see_money": can_see_money(request.user),
        },
        status=status,
    )


urlpatterns = [
    path("kpis/", kpis, name="kpis"),
    path("kpis.csv", kpis_csv, name="kpis_csv"),
    path("customers/", customers, name="customers"),
    path("customers/<int:pk>/", customer, name="customer"),
    path("customers/<int:pk>/issues/new/", issue_new, name="issue_new"),
    path("issues/<int:pk>/resolve/", issue_resolve_view, name="issue_resolve"),
    path("corrective-actions/", corrective_actions, name="corrective_actions"),
]
