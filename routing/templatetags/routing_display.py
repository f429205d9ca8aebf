"""How a routing rule reads in a list: its conditions in a line, its people with their weights."""

from django import template

from dealercrm.models import person_name
from routing.conditions import Conditions
from routing.models import Strategy

register = template.Library()


@register.filter
def conditions_summary(conditions):
    """A rule's stored conditions as a manager reads them: "web_form · score 70–100 · Toyota"."""
    return Conditions.from_dict(conditions).summary()


@register.filter
def rule_people(rule):
    """The members of a rule loaded by routing.selectors (`member_list`), with their weights
    under the weighted split: "Alice ×1, Bob ×3"."""
    names = []
    for user in sorted(rule.member_list, key=lambda u: (u.get_full_name(), u.get_username())):
        name = person_name(user)
        if rule.strategy == Strategy.WEIGHTED:
            name = f"{name} ×{rule.weights.get(str(user.pk), 1):g}"
        names.append(name)
    return ", ".join(names)
