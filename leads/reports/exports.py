"""A report as CSV rows and as the API's JSON: the same figures the page shows, raw (percentages
as numbers, durations in seconds, money as decimals), so a spreadsheet can compute with them."""

from django.conf import settings

from leads.reports.base import Kind, value_json

UNITS = {Kind.PERCENT: " (%)", Kind.SECONDS: " (seconds)", Kind.DAYS: " (days)"}


def _header(column):
    if column.kind == Kind.MONEY:
        return f"{column.label} ({settings.CURRENCY_SYMBOL})"
    return column.label + UNITS.get(column.kind, "")


def _raw(value):
    return "" if value is None else value


def csv_rows(report):
    """The report as CSV rows: what it is and its filters, the headline figures, then each
    table under its title, separated by empty rows."""
    yield ["report", report.title]
    yield ["filters", report.filters.described()]
    yield []
    yield ["figure", "value", "unit", "benchmark or goal", "what the benchmark is"]
    for figure in report.figures:
        yield [
            figure.label,
            _raw(figure.value),
            figure.kind.value,
            _raw(figure.benchmark),
            figure.benchmark_text,
        ]
    for table in report.tables:
        yield []
        yield [table.title]
        yield [_header(column) for column in table.columns]
        for row in table.rows:
            yield [_raw(row.get(column.key)) for column in table.columns]


def as_json(report):
    """The report for the API (the shape `leads.api.reports.ReportSerializer` documents)."""
    filters = report.filters
    return {
        "report": report.key,
        "title": report.title,
        "description": report.description,
        "period": {
            "start": filters.period.start.isoformat(),
            "end": filters.period.end.isoformat(),
            "days": filters.period.days,
        },
        "filters": {
            "source": filters.source or None,
            "team": filters.team.pk if filters.team is not None else None,
            "person": filters.person.pk if filters.person is not None else None,
        },
        "figures": [
            {
                "key": figure.key,
                "label": figure.label,
                "kind": figure.kind.value,
                "value": value_json(figure.value, figure.kind),
                "benchmark": value_json(figure.benchmark, figure.kind),
                "benchmark_text": figure.benchmark_text,
            }
            for figure in report.figures
        ],
        "tables": [
            {
                "key": table.key,
                "title": table.title,
                "note": table.note,
                "columns": [
                    {"key": column.key, "label": column.label, "kind": column.kind.value}
                    for column in table.columns
                ],
                "rows": [
                    {
                        column.key: value_json(row.get(column.key), column.kind)
                        for column in table.columns
                    }
                    for row in table.rows
                ],
            }
            for table in report.tables
        ],
    }
