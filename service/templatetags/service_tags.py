from django import template

from service.formats import money_text

register = template.Library()


@register.filter
def money(value):
    """{{ opportunity.estimated_value|money }} → "$1,234.50"."""
    return money_text(value)
