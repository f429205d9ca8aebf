"""How the lead reports write their values: `{{ row|cell:column }}`, `{{ figure|figure_text }}`."""

from django import template

from leads.reports.base import value_text

register = template.Library()


@register.filter
def cell(row, column):
    return value_text(row.get(column.key), column.kind)


@register.filter
def figure_text(figure):
    return value_text(figure.value, figure.kind)


@register.filter
def benchmark_text(figure):
    return value_text(figure.benchmark, figure.kind)


@register.filter
def dict_get(mapping, key):
    return mapping.get(key)
