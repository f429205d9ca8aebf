"""Forms of the routing pages. They turn what a manager ticks and types into the arguments of
`routing.services`; whether the rule works is the service's call, and its refusal is shown next
to the field it names."""

from django import forms

from dealercrm.models import person_name
from dealercrm.vocabulary import SCORE_BANDS, LeadChannel
from routing.conditions import Conditions
from routing.models import Fallback, OpeningHours, Strategy
from routing.selectors import staff_for_rule_choices, teams_for_rule_choices
from routing.services import MAX_ROTATIONS, MAX_WEIGHT

BAND_CHOICES = [
    ("", "Any score, or the range below"),
    *((band, f"{band.title()} ({low}–{high})") for band, (low, high) in SCORE_BANDS.items()),
]
KNOWN_CUSTOMER = {"": None, "yes": True, "no": False}
# Where a refusal from the service is shown when the form has no field of that name: the weights
# sit in the members table; a refusal of the conditions as a whole goes on top of the form.
REFUSAL_FIELDS = {"weights": "members", "conditions": None}


def _split(text):
    return [part.strip() for part in text.split(",") if part.strip()]


def _person(user):
    name = person_name(user)
    staff = getattr(user, "staff", None)
    if staff is None:
        return name
    if not (staff.active and user.is_active):
        return f"{name} ({staff.get_role_display()}, inactive)"
    return f"{name} ({staff.get_role_display()})"


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return _person(user)


class PeopleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return _person(user)


class RuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    priority = forms.IntegerField(
        min_value=0,
        max_value=1_000_000,
        required=False,
        help_text="Lower runs first. Empty: a new rule goes last.",
    )
    active = forms.BooleanField(required=False, initial=True)
    stop = forms.BooleanField(
        label="Stop here",
        required=False,
        help_text="Leads this rule matches never reach the rules below; when nobody is found "
        "they wait in the pool.",
    )

    sources = forms.CharField(
        required=False,
        help_text="Lead source keys, comma-separated, e.g. website, cars-com. Empty: any.",
    )
    channels = forms.MultipleChoiceField(
        choices=LeadChannel.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    score_band = forms.ChoiceField(label="Score", choices=BAND_CHOICES, required=False)
    score_min = forms.IntegerField(label="Score from", min_value=0, max_value=100, required=False)
    score_max = forms.IntegerField(label="Score to", min_value=0, max_value=100, required=False)
    vehicle_condition = forms.ChoiceField(
        choices=[("", "New or used"), ("new", "New"), ("used", "Used")], required=False
    )
    makes = forms.CharField(
        required=False, help_text="Comma-separated, e.g. Toyota, Lexus. Empty: any make."
    )
    weekdays = forms.TypedMultipleChoiceField(
        choices=OpeningHours.Weekday.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="In the dealership's time zone. None ticked: every day.",
    )
    hours_from = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    hours_to = forms.TimeField(
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="A window may pass midnight, e.g. 20:00 to 08:00.",
    )
    known_customer = forms.ChoiceField(
        label="Customer",
        choices=[("", "Any"), ("yes", "Known before the inquiry"), ("no", "New to us")],
        required=False,
    )

    strategy = forms.ChoiceField(choices=Strategy.choices)
    members = PeopleChoiceField(
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Nobody ticked: the team's people.",
    )
    team = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="No team",
        help_text="Its pool takes the leads of the pool strategy and fallback.",
    )
    sla_minutes = forms.IntegerField(
        label="First-response SLA (minutes)",
        min_value=1,
        initial=5,
        help_text="Business minutes the owner has for the first personal contact.",
    )
    max_rotations = forms.IntegerField(
        min_value=0,
        max_value=MAX_ROTATIONS,
        initial=2,
        help_text="Missed first responses after which the lead goes to the pool and a manager.",
    )
    fallback = forms.ChoiceField(
        label="When nobody is available", choices=Fallback.choices, initial=Fallback.NEXT_RULE
    )
    fallback_manager = PersonChoiceField(
        label="Manager",
        queryset=None,
        required=False,
        empty_label="Nobody",
        help_text="Takes the leads with the manager fallback; hears of missed first responses.",
    )

    def __init__(self, *args, rule=None, **kwargs):
        """`rule` is the rule being edited, loaded by `routing.selectors.rule_for_page`."""
        if rule is not None:
            kwargs.setdefault("initial", self.initial_for(rule))
        super().__init__(*args, **kwargs)
        keep = [user.pk for user in rule.member_list] if rule else []
        if rule is not None and rule.fallback_manager_id:
            keep.append(rule.fallback_manager_id)
        people = staff_for_rule_choices(keep)
        self.fields["members"].queryset = people
        self.fields["fallback_manager"].queryset = people
        self.fields["team"].queryset = teams_for_rule_choices(rule.team_id if rule else None)
        # One weight per person, shown beside their tick box; read only for the people ticked.
        for user in people:
            self.fields[f"weight_{user.pk}"] = forms.FloatField(
                label=f"Weight of {person_name(user)}",
                min_value=0,
                max_value=MAX_WEIGHT,
                required=False,
                widget=forms.NumberInput(attrs={"placeholder": "1", "step": "any"}),
            )

    @staticmethod
    def initial_for(rule):
        conditions = Conditions.from_dict(rule.conditions)
        scores = (conditions.score_min, conditions.score_max)
        band = next((name for name, limits in SCORE_BANDS.items() if limits == scores), "")
        known = {value: key for key, value in KNOWN_CUSTOMER.items()}
        return {
            "name": rule.name,
            "priority": rule.priority,
            "active": rule.active,
            "stop": rule.stop,
            "sources": ", ".join(conditions.sources),
            "channels": list(conditions.channels),
            "score_band": band,
            "score_min": None if band else conditions.score_min,
            "score_max": None if band else conditions.score_max,
            "vehicle_condition": conditions.vehicle_condition,
            "makes": ", ".join(make.title() for make in conditions.makes),
            "weekdays": list(conditions.weekdays),
            "hours_from": conditions.hours_from,
            "hours_to": conditions.hours_to,
            "known_customer": known[conditions.known_customer],
            "strategy": rule.strategy,
            "members": [user.pk for user in rule.member_list],
            "team": rule.team_id,
            "sla_minutes": rule.sla_minutes,
            "max_rotations": rule.max_rotations,
            "fallback": rule.fallback,
            "fallback_manager": rule.fallback_manager_id,
            **{f"weight_{pid}": weight for pid, weight in rule.weights.items()},
        }

    def member_rows(self):
        """(tick box, weight input) for each person, in the order of the choices."""
        for checkbox in self["members"]:
            yield checkbox, self[f"weight_{checkbox.data['value']}"]

    def clean(self):
        data = super().clean()
        band = data.get("score_band")
        if band:
            low, high = SCORE_BANDS[band]
            given = (data.get("score_min"), data.get("score_max"))
            if given != (None, None) and given != (low, high):
                self.add_error("score_band", "Choose a band or a range, not both.")
            data["score_min"], data["score_max"] = low, high
        return data

    def rule_fields(self):
        """The keyword arguments of rule_create and rule_update, members included."""
        data = self.cleaned_data
        members = list(data["members"])
        weights = {}
        if data["strategy"] == Strategy.WEIGHTED:
            for user in members:
                weight = data.get(f"weight_{user.pk}")
                if weight is not None:
                    weights[str(user.pk)] = int(weight) if weight.is_integer() else weight
        fields = {
            "name": data["name"],
            "active": data["active"],
            "stop": data["stop"],
            "conditions": {
                "sources": _split(data["sources"]),
                "channels": data["channels"],
                "score_min": data["score_min"],
                "score_max": data["score_max"],
                "vehicle_condition": data["vehicle_condition"],
                "makes": _split(data["makes"]),
                "weekdays": data["weekdays"],
                "hours_from": data["hours_from"],
                "hours_to": data["hours_to"],
                "known_customer": KNOWN_CUSTOMER[data["known_customer"]],
            },
            "strategy": data["strategy"],
            "members": members,
            "team": data["team"],
            "weights": weights,
            "sla_minutes": data["sla_minutes"],
            "max_rotations": data["max_rotations"],
            "fallback": data["fallback"],
            "fallback_manager": data["fallback_manager"],
        }
        if data["priority"] is not None:  # empty: a new rule goes last, an edited one stays
            fields["priority"] = data["priority"]
        return fields

    def add_refusal(self, error):
        """Show an InvalidRule from the service next to the field it names."""
        field = REFUSAL_FIELDS.get(error.field, error.field)
        if field in self.fields:
            self.add_error(field, f"{error.message[:1].upper()}{error.message[1:]}")
        else:
            self.add_error(None, str(error))


class RuleActiveForm(forms.Form):
    """Switching a rule on or off posts the state wanted, so that a double click or two managers
    at once cannot flip it back."""

    active = forms.TypedChoiceField(
        choices=[("1", "on"), ("0", "off")], coerce=lambda value: value == "1"
    )


class RuleMoveForm(forms.Form):
    offset = forms.TypedChoiceField(choices=[("-1", "up"), ("1", "down")], coerce=int)
