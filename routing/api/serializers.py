"""Routing rules over the API. The input serializer checks types only; what makes a rule work
(conditions, people, weights, fallback) is checked by `routing.services`, the one place the
pages and the API share."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dealercrm.models import Team
from dealercrm.vocabulary import LeadChannel
from routing.conditions import VEHICLE_CONDITIONS, Conditions
from routing.models import Fallback, Strategy


def _choice_errors(choices):
    return {"invalid_choice": f"“{{input}}” is not one of {', '.join(choices)}."}


# Inline enums: the lead serializers already name these choice sets (ChannelEnum,
# ConditionEnum), and a second name for the same set would be a schema warning.
@extend_schema_field({"type": "string", "enum": LeadChannel.values})
class ChannelField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "enum": ["", *VEHICLE_CONDITIONS]})
class VehicleConditionField(serializers.CharField):
    pass


class ConditionsSerializer(serializers.Serializer):
    """Which leads a rule takes. Every condition left empty matches every lead."""

    sources = serializers.ListField(
        child=serializers.CharField(), help_text="Lead source keys, e.g. `website`, `cars-com`."
    )
    channels = serializers.ListField(child=ChannelField())
    score_min = serializers.IntegerField(min_value=0, max_value=100, allow_null=True)
    score_max = serializers.IntegerField(
        min_value=0,
        max_value=100,
        allow_null=True,
        help_text="Hot is 70–100, warm 40–69, cold 0–39.",
    )
    vehicle_condition = VehicleConditionField(allow_blank=True, help_text="Empty for either.")
    makes = serializers.ListField(child=serializers.CharField(), help_text="Any case.")
    known_customer = serializers.BooleanField(
        allow_null=True,
        help_text="true: only customers known before the inquiry; false: only new ones.",
    )
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        help_text="0 is Monday, in the dealership's time zone.",
    )
    hours_from = serializers.CharField(
        allow_null=True, help_text="Local time the window opens, `08:00`; give both or neither."
    )
    hours_to = serializers.CharField(
        allow_null=True, help_text="Local time it closes; `20:00`–`08:00` spans midnight."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every condition may be left out of a request; an answer always holds all of them.
        for field in self.fields.values():
            field.required = False

    def to_representation(self, conditions):
        """`conditions` is the stored dict; every condition is answered, empty or not."""
        parsed = Conditions.from_dict(conditions)
        return {
            "sources": list(parsed.sources),
            "channels": list(parsed.channels),
            "score_min": parsed.score_min,
            "score_max": parsed.score_max,
            "vehicle_condition": parsed.vehicle_condition,
            "makes": list(parsed.makes),
            "known_customer": parsed.known_customer,
            "weekdays": list(parsed.weekdays),
            "hours_from": parsed.hours_from.strftime("%H:%M") if parsed.hours_from else None,
            "hours_to": parsed.hours_to.strftime("%H:%M") if parsed.hours_to else None,
        }


# Taken as posted and checked by routing.conditions, so that an unknown or misspelt condition is
# refused (a serializer would drop it silently, making a rule that matches every lead).
@extend_schema_field(ConditionsSerializer)
class ConditionsField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "number", "minimum": 0, "maximum": 100},
        "example": {"12": 1, "15": 3},
    }
)
class WeightsField(serializers.JSONField):
    pass


class RuleInSerializer(serializers.Serializer):
    """A rule as a manager posts it; on PATCH only the fields given change."""

    name = serializers.CharField(max_length=100)
    priority = serializers.IntegerField(
        min_value=0,
        max_value=1_000_000,
        required=False,
        help_text="Lower runs first. Left out on creation: after the last rule.",
    )
    active = serializers.BooleanField(required=False)
    conditions = ConditionsField(
        required=False, help_text="The whole set: a condition left out matches every lead."
    )
    members = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(),
        many=True,
        required=False,
        help_text="User ids of the sales or BDC staff who take the leads. Empty: the team's "
        "people.",
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), allow_null=True, required=False
    )
    strategy = serializers.ChoiceField(
        choices=Strategy.choices, error_messages=_choice_errors(Strategy.values)
    )
    weights = WeightsField(
        required=False, help_text="Weighted split only: {user id: weight}; 1 when left out."
    )
    sla_minutes = serializers.IntegerField(
        required=False,
        help_text="Business minutes the owner has for the first personal contact (1–1440).",
    )
    max_rotations = serializers.IntegerField(
        required=False, help_text="Missed first responses before the pool and a manager (0–10)."
    )
    fallback = serializers.ChoiceField(
        choices=Fallback.choices,
        required=False,
        error_messages=_choice_errors(Fallback.values),
    )
    fallback_manager = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(),
        allow_null=True,
        required=False,
        help_text="Required with fallback `manager`; also hears of missed first responses.",
    )
    stop = serializers.BooleanField(
        required=False, help_text="Leads this rule matches never reach the rules below it."
    )


class RuleSerializer(serializers.Serializer):
    """A routing rule: which leads it takes, who gets them and how, and what happens when
    nobody answers."""

    # Renders a rule as routing.selectors.rules_for_page loads it: members in `member_list`.

    id = serializers.IntegerField()
    name = serializers.CharField()
    priority = serializers.IntegerField()
    active = serializers.BooleanField()
    conditions = ConditionsSerializer()
    members = serializers.SerializerMethodField()
    team = serializers.IntegerField(source="team_id", allow_null=True)
    strategy = serializers.ChoiceField(choices=Strategy.choices)
    weights = WeightsField()
    sla_minutes = serializers.IntegerField()
    max_rotations = serializers.IntegerField()
    fallback = serializers.ChoiceField(choices=Fallback.choices)
    fallback_manager = serializers.IntegerField(source="fallback_manager_id", allow_null=True)
    stop = serializers.BooleanField()

    def get_members(self, rule) -> list[int]:
        return sorted(user.pk for user in rule.member_list)
