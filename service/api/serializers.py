"""Input serializers check what a system or a person posts before a service runs; output
serializers render what the views loaded, and leave out every amount of money for a reader who
may not see service money (`service.permissions.can_see_money`)."""

from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.errors import InvalidContactDetail
from dealercrm.models import Role, person_name
from leads.api.serializers import CustomerOutSerializer, PersonSerializer
from service.models import ServiceEvent, ServiceLoss, ServiceOpportunity, Stage
from service.selectors import shown_text

MONEY = {"max_digits": 10, "decimal_places": 2}
SERVICE_ROLES = (Role.SERVICE_ADVISOR, Role.SERVICE_MANAGER)
MONEY_NOTE = "Present only for readers who may see service money."

# --- input -------------------------------------------------------------------------------------


class WorkLineInSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(**MONEY, min_value=0, required=False, allow_null=True)


class ServiceCustomerInSerializer(serializers.Serializer):
    """Who the work is for: matched by e-mail, else phone, or created."""

    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="Any format; a number without a country code is read in the dealership's region.",
    )

    def validate_email(self, value):
        return _contact(normalize_email, value)

    def validate_phone(self, value):
        return _contact(normalize_phone, value)

    def validate(self, data):
        if not (data.get("email") or data.get("phone")):
            raise serializers.ValidationError(
                "The customer needs an e-mail address or a phone number."
            )
        return data


def _contact(normalize, value):
    try:
        return normalize(value)
    except InvalidContactDetail as problem:
        raise serializers.ValidationError(str(problem)) from None


class ServiceVehicleInSerializer(serializers.Serializer):
    vin = serializers.CharField(max_length=17, required=False, allow_blank=True)
    year = serializers.IntegerField(min_value=1900, max_value=2100, required=False, allow_null=True)
    make = serializers.CharField(max_length=50, required=False, allow_blank=True)
    model = serializers.CharField(max_length=50, required=False, allow_blank=True)
    mileage = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False, allow_null=True
    )


class OpportunityInSerializer(serializers.Serializer):
    """A booking, a visit or a quote as a dealer's system posts it."""

    source = serializers.ChoiceField(choices=ServiceOpportunity.Source.choices)
    external_id = serializers.CharField(
        max_length=100,
        help_text="Your id for this booking, visit or quote. Posting the same source and id "
        "again opens nothing (200) and moves the opportunity on when it names a later stage.",
    )
    title = serializers.CharField(max_length=200, help_text="The work, in a line.")
    estimated_value = serializers.DecimalField(**MONEY, min_value=0)
    stage = serializers.ChoiceField(choices=Stage.choices, default=Stage.PLANNED)
    booked_for = serializers.DateTimeField(
        required=False, allow_null=True, help_text="The appointment (ISO 8601)."
    )
    mileage = serializers.IntegerField(
        min_value=0,
        max_value=10_000_000,
        required=False,
        allow_null=True,
        help_text="Odometer (km).",
    )
    advisor = serializers.CharField(
        max_length=150,
        required=False,
        allow_blank=True,
        help_text="The username of the service advisor who handles it.",
    )
    items = WorkLineInSerializer(many=True, required=False)
    customer = ServiceCustomerInSerializer()
    vehicle = ServiceVehicleInSerializer(required=False, allow_null=True)

    def validate_external_id(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("Give your id, so that a resend opens nothing twice.")
        return value

    def validate_advisor(self, value):
        """The user, or None. Checked here (the service checks it again) so that the error
        names the field."""
        if not value.strip():
            return None
        user = (
            get_user_model().objects.select_related("staff").filter(username=value.strip()).first()
        )
        if user is None:
            raise serializers.ValidationError(f"Nobody has the username {value!r}.")
        profile = getattr(user, "staff", None)
        if not (user.is_active and profile and profile.active and profile.role in SERVICE_ROLES):
            raise serializers.ValidationError(
                f"{person_name(user)} is not an active service advisor."
            )
        return user


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "description": "The work, in words."},
            {
                "type": "object",
                "properties": {
                    "description": {"type": "string", "maxLength": 200},
                    "amount": {"type": "string", "format": "decimal", "nullable": True},
                },
                "required": ["description"],
            },
        ]
    }
)
class DeclinedItemField(serializers.JSONField):
    """A declined work line: its description, or {description, amount}."""


class LossInSerializer(serializers.Serializer):
    event = serializers.ChoiceField(choices=ServiceLoss.Event.choices)
    reason = serializers.CharField(
        max_length=50, help_text='A service-loss reason code, e.g. "price_too_high".'
    )
    amount = serializers.DecimalField(
        **MONEY,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="The money lost; the opportunity's current estimate when left out.",
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    declined_items = serializers.ListField(
        child=DeclinedItemField(),
        required=False,
        max_length=100,
        help_text='The work declined: strings, or {"description", "amount"} objects.',
    )

    def validate_declined_items(self, items):
        lines = []
        errors = {}
        for number, item in enumerate(items):
            if isinstance(item, str):
                item = {"description": item}
            line = WorkLineInSerializer(data=item) if isinstance(item, dict) else None
            if line is None:
                errors[number] = ["A declined item is a string or a {description, amount} object."]
            elif not line.is_valid():
                errors[number] = line.errors
            else:
                lines.append(line.validated_data)
        if errors:
            raise serializers.ValidationError(errors)
        return work_lines(lines)


class AdvanceInSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    actual_value = serializers.DecimalField(
        **MONEY,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="What was invoiced, on delivery; the estimate when left out.",
    )
    mileage = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False, allow_null=True
    )


def _item(line):
    """A work line as the services take it (amounts as strings, missing when not given)."""
    item = {"description": line["description"]}
    if line.get("amount") is not None:
        item["amount"] = str(line["amount"])
    return item


def work_lines(lines):
    """Validated work lines as the services take them."""
    return [_item(line) for line in lines or ()]


# --- output ------------------------------------------------------------------------------------


class MoneyHidden:
    """Leaves out `money_fields` unless the view said the reader may see service money. The
    view must say it either way (`context["money"]`): forgetting it fails loudly."""

    money_fields = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context["money"]:
            for name in self.money_fields:
                data.pop(name, None)
        return data


class OpportunityReceivedSerializer(serializers.Serializer):
    """What a system gets back for a posted booking, visit, quote or ADF prospect."""

    id = serializers.IntegerField()
    source = serializers.ChoiceField(choices=ServiceOpportunity.Source.choices)
    external_id = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    status = serializers.ChoiceField(choices=ServiceOpportunity.Status.choices)
    created = serializers.SerializerMethodField(
        help_text="true: opened now (201). false: known already (200); moved on when the post "
        "named a later stage."
    )
    url = serializers.SerializerMethodField(help_text="The opportunity's page.")

    def get_created(self, opportunity) -> bool:
        return self.context["created"]

    def get_url(self, opportunity) -> str:
        return opportunity_url(opportunity)


def opportunity_url(opportunity):
    return reverse("service:opportunity", args=[opportunity.pk])


class WorkLineSerializer(MoneyHidden, serializers.Serializer):
    money_fields = ("amount",)

    description = serializers.CharField()
    amount = serializers.DecimalField(**MONEY, required=False, help_text=MONEY_NOTE)


class ServiceVehicleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    vin = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    make = serializers.CharField()
    model = serializers.CharField()
    mileage = serializers.IntegerField(allow_null=True)


class OpportunitySerializer(MoneyHidden, serializers.Serializer):
    """An opportunity as the list shows it; the customer, vehicle and advisor come joined."""

    money_fields = ("initial_value", "estimated_value", "actual_value")

    id = serializers.IntegerField()
    source = serializers.ChoiceField(choices=ServiceOpportunity.Source.choices)
    external_id = serializers.CharField()
    title = serializers.CharField()
    stage = serializers.ChoiceField(choices=Stage.choices)
    status = serializers.ChoiceField(choices=ServiceOpportunity.Status.choices)
    customer = CustomerOutSerializer()
    vehicle = ServiceVehicleSerializer(allow_null=True)
    advisor = PersonSerializer(allow_null=True)
    items = WorkLineSerializer(many=True)
    booked_for = serializers.DateTimeField(allow_null=True)
    mileage = serializers.IntegerField(allow_null=True)
    initial_value = serializers.DecimalField(
        **MONEY, required=False, help_text=f"The money at stake when it opened. {MONEY_NOTE}"
    )
    estimated_value = serializers.DecimalField(
        **MONEY, required=False, help_text=f"The estimate now. {MONEY_NOTE}"
    )
    actual_value = serializers.DecimalField(
        **MONEY,
        required=False,
        allow_null=True,
        help_text=f"What was invoiced at delivery. {MONEY_NOTE}",
    )
    created_at = serializers.DateTimeField()
    checked_in_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField(help_text="The opportunity's page.")

    def get_url(self, opportunity) -> str:
        return opportunity_url(opportunity)


class ServiceReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()


class ServiceLossSerializer(MoneyHidden, serializers.Serializer):
    money_fields = ("amount",)

    id = serializers.IntegerField()
    event = serializers.ChoiceField(choices=ServiceLoss.Event.choices)
    reason = ServiceReasonSerializer()
    note = serializers.CharField()
    amount = serializers.DecimalField(
        **MONEY, required=False, help_text=f"The money lost. {MONEY_NOTE}"
    )
    whole = serializers.BooleanField(help_text="The whole opportunity was lost (it closed).")
    declined_items = WorkLineSerializer(many=True)
    at = serializers.DateTimeField()
    logged_by = serializers.SerializerMethodField()
    recovery = serializers.ChoiceField(choices=ServiceLoss.Recovery.choices)
    follow_up_on = serializers.DateField(
        allow_null=True, help_text="When the lost sale comes back by itself."
    )
    parts_arrived_at = serializers.DateTimeField(allow_null=True)

    def get_logged_by(self, loss) -> str:
        return person_name(loss.logged_by)


class OpportunityAfterLossSerializer(MoneyHidden, serializers.Serializer):
    money_fields = ("estimated_value",)

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ServiceOpportunity.Status.choices)
    estimated_value = serializers.DecimalField(
        **MONEY, required=False, help_text=f"The estimate left open. {MONEY_NOTE}"
    )


class LossLoggedSerializer(ServiceLossSerializer):
    """A loss just logged, with what it did to its opportunity."""

    opportunity = OpportunityAfterLossSerializer()


class ServiceEventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ServiceEvent.Kind.choices)
    at = serializers.DateTimeField()
    by = serializers.CharField(source="actor_name")
    from_stage = serializers.CharField()
    to_stage = serializers.CharField()
    loss = serializers.IntegerField(source="loss_id", allow_null=True)
    summary = serializers.SerializerMethodField(
        help_text="What happened; amounts read [amount] for readers who may not see service money."
    )

    def get_summary(self, event) -> str:
        return shown_text(event.summary, self.context["money"])


class OpportunityDetailSerializer(OpportunitySerializer):
    """The whole opportunity: its losses and its history, oldest event first."""

    losses = ServiceLossSerializer(
        many=True, required=False, help_text="Present only for readers who may see lost sales."
    )
    history = ServiceEventSerializer(source="events", many=True)

    def get_fields(self):
        fields = super().get_fields()
        # The view says whether the reader may see lost sales (and loaded them only then);
        # the schema, built without a reader, documents the field.
        if not self.context.get("losses", True):
            del fields["losses"]
        return fields


class PartsArrivedSerializer(serializers.Serializer):
    loss = serializers.IntegerField()
    follow_up_made = serializers.BooleanField(
        help_text="false when the declined work was brought back for its parts before, or the "
        "lost sale is won back or given up."
    )
    recapture = serializers.IntegerField(
        allow_null=True, help_text="The follow-up made for the advisor, if any."
    )
