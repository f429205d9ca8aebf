"""The lead reports' pages: the list, each report (htmx swaps the results when the filters
change) and its CSV. Each report's figures come from its module in `leads.reports`."""

import csv

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from dealercrm.charts import Bar, bar_chart, column_chart
from leads.report_forms import ReportFilterForm
from leads.reports import REPORTS
from leads.reports.base import value_text
from leads.reports.exports import csv_rows

# A form that came back with errors (the page's htmx config swaps it in).
INVALID = 422

report_readers = permission_required("leads.view_lead_reports", raise_exception=True)


def _report_module(key):
    try:
        return REPORTS[key]
    except KeyError:
        raise Http404(f"There is no report '{key}'.") from None


@login_required
@report_readers
def reports(request):
    return render(request, "leads/reports/index.html", {"reports": REPORTS.values()})


@login_required
@report_readers
def report(request, key):
    """One report for the filters in the query string (by default the last 12 months)."""
    module = _report_module(key)
    today = timezone.localdate()
    form = ReportFilterForm(request.GET or None, today=today)
    context = {"form": form, "module": module, "reports": REPORTS.values(), "report": None}
    status = 200
    if form.is_bound and not form.is_valid():
        status = INVALID
    else:
        built = module.build(form.filters(), today)
        context.update(
            report=built,
            charts={table.key: table_chart(table) for table in built.tables if table.chart},
            csv_url=reverse("leads:report_csv", args=[key])
            + "?"
            + urlencode(built.filters.as_query()),
        )
    template = "leads/reports/report.html"
    if request.htmx and request.htmx.target == "report-results":
        template += "#results"
    return render(request, template, context, status=status)


@login_required
@report_readers
def report_csv(request, key):
    module = _report_module(key)
    today = timezone.localdate()
    form = ReportFilterForm(request.GET or None, today=today)
    if form.is_bound and not form.is_valid():
        words = " ".join(
            f"{form.fields[name].label if name in form.fields else 'Period'}: {error}"
            for name, errors in form.errors.items()
            for error in errors
        )
        return HttpResponse(words, status=400, content_type="text/plain; charset=utf-8")
    built = module.build(form.filters(), today)
    period = built.filters.period
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{key}-{period.start}-to-{period.end}.csv"'
    )
    csv.writer(response).writerows(csv_rows(built))
    return response


def table_chart(table):
    """The SVG chart a table names: its rows as bars or columns of one of its columns."""
    chart = table.chart
    kind = next(column.kind for column in table.columns if column.key == chart.value)

    def text(value):
        return value_text(value, kind)

    bars = [
        Bar(
            str(row[chart.label]),
            row.get(chart.value) or 0,
            previous=(row.get(chart.compare) or 0) if chart.compare else None,
        )
        for row in table.rows
    ]
    chart_id = f"chart-{table.key.replace('_', '-')}"
    if chart.kind == "columns":
        return column_chart(bars, title=chart.title, chart_id=chart_id, value_text=text)
    return bar_chart(
        bars,
        title=chart.title,
        chart_id=chart_id,
        value_text=text,
        current_label=chart.current_label,
        previous_label=chart.compare_label,
    )
