from django import template

from dealercrm.formats import money_text

register = template.Library()


@register.filter
def money(value):
    """{{ opportunity.estimated_value|money }} → "$1,234.50"."""
    return money_text(value)
