"""Input serializers turn a request into a `Submission`; output serializers render what the
selectors loaded and nothing more."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dealercrm.filters import MAX_ID
from dealercrm.models import person_name
from dealercrm.vocabulary import SCORE_BANDS
from leads.adf import MAX_MILEAGE
from leads.models import Inquiry, Lead, LeadEvent, LeadStatus, WebEvent
from leads.submission import CallDetails, Format, Submission, VehicleDetails
from leads.tracking import WebEventInput

# --- input -------------------------------------------------------------------------------------


class VehicleInSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=1900, max_value=2100, required=False, allow_null=True)
    make = serializers.CharField(max_length=50, required=False, allow_blank=True)
    model = serializers.CharField(max_length=50, required=False, allow_blank=True)
    trim = serializers.CharField(max_length=80, required=False, allow_blank=True)
    vin = serializers.CharField(max_length=17, required=False, allow_blank=True)
    stock = serializers.CharField(max_length=32, required=False, allow_blank=True)
    condition = serializers.ChoiceField(
        choices=[Lead.Condition.NEW, Lead.Condition.USED], required=False, allow_blank=True
    )


class TradeInSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=1900, max_value=2100, required=False, allow_null=True)
    make = serializers.CharField(max_length=50, required=False, allow_blank=True)
    model = serializers.CharField(max_length=50, required=False, allow_blank=True)
    vin = serializers.CharField(max_length=17, required=False, allow_blank=True)
    # Bounded as an ADF trade-in's odometer is: a larger number overflowed the column (a 500).
    mileage = serializers.IntegerField(
        min_value=0, max_value=MAX_MILEAGE, required=False, allow_null=True
    )


class ConsentSerializer(serializers.Serializer):
    email = serializers.BooleanField(default=False)
    sms = serializers.BooleanField(default=False)
    phone = serializers.BooleanField(default=False)


def _vehicle(data):
    if not data:
        return None
    vehicle = VehicleDetails(
        year=data.get("year"),
        make=data.get("make", "").strip(),
        model=data.get("model", "").strip(),
        trim=data.get("trim", "").strip(),
        vin=data.get("vin", "").strip().upper(),
        stock=data.get("stock", "").strip(),
        condition=data.get("condition", ""),
        mileage=data.get("mileage"),
    )
    return None if vehicle.is_empty() else vehicle


class LeadSubmissionSerializer(serializers.Serializer):
    """A lead as a website, a lead provider or a portal posts it."""

    source = serializers.CharField(
        max_length=64, help_text="Who sends the lead, e.g. `website` or `cars-com`."
    )
    channel = serializers.ChoiceField(choices=Lead.Channel.choices, required=False)
    external_id = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        help_text="Your id for this inquiry. Posting the same source and id again returns "
        "the lead already created (200) instead of a second one.",
    )
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    # Not EmailField: an address that does not parse is kept on the lead and flagged, not refused.
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="Any format; numbers without a country code are read in the dealership's "
        "region. A number that does not parse is kept on the lead and flagged.",
    )
    vehicle = VehicleInSerializer(required=False, allow_null=True)
    trade_in = TradeInSerializer(required=False, allow_null=True)
    purchase_horizon = serializers.ChoiceField(
        choices=[choice for choice in Lead.PurchaseHorizon.choices if choice[0]],
        required=False,
        allow_blank=True,
    )
    comments = serializers.CharField(max_length=10_000, required=False, allow_blank=True)
    visitor_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="The website tracker's visitor id: links the visitor's browsing to the lead.",
    )
    consent = ConsentSerializer(required=False)

    def validate_source(self, value):
        value = value.strip()
        if not value:
            raise serializers.ValidationError("Name the source of the lead.")
        return value

    def submission(self, raw_payload):
        data = self.validated_data
        consent = data.get("consent") or {}
        return Submission(
            source=data["source"],
            channel=data.get("channel", ""),
            external_id=data.get("external_id", "").strip(),
            first_name=data.get("first_name", "").strip(),
            last_name=data.get("last_name", "").strip(),
            emails=tuple(filter(None, [data.get("email", "").strip()])),
            phones=tuple(filter(None, [data.get("phone", "").strip()])),
            vehicle=_vehicle(data.get("vehicle")),
            trade_in=_vehicle(data.get("trade_in")),
            purchase_horizon=data.get("purchase_horizon", ""),
            comments=data.get("comments", "").strip(),
            visitor_id=data.get("visitor_id", "").strip(),
            consent_email=consent.get("email", False),
            consent_sms=consent.get("sms", False),
            consent_phone=consent.get("phone", False),
            payload_format=Format.JSON,
            raw_payload=raw_payload,
        )


class CallSubmissionSerializer(serializers.Serializer):
    """A call reported by call tracking: the caller becomes (or joins) a phone lead."""

    source = serializers.CharField(max_length=64, help_text="The tracking number's campaign.")
    external_id = serializers.CharField(
        max_length=128, required=False, allow_blank=True, help_text="The call's id."
    )
    caller_number = serializers.CharField(max_length=40)
    called_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    caller_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    duration_seconds = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    recording_url = serializers.URLField(max_length=500, required=False, allow_blank=True)

    def submission(self, raw_payload):
        data = self.validated_data
        first, _, last = data.get("caller_name", "").strip().rpartition(" ")
        return Submission(
            source=data["source"].strip(),
            channel=Lead.Channel.PHONE,
            external_id=data.get("external_id", "").strip(),
            first_name=first or last,
            last_name=last if first else "",
            phones=(data["caller_number"].strip(),),
            call=CallDetails(
                caller_number=data["caller_number"].strip(),
                called_number=data.get("called_number", "").strip(),
                duration_seconds=data.get("duration_seconds"),
                recording_url=data.get("recording_url", ""),
            ),
            payload_format=Format.CALL,
            raw_payload=raw_payload,
        )


class WebEventInSerializer(serializers.Serializer):
    visitor_id = serializers.CharField(max_length=64)
    type = serializers.ChoiceField(choices=WebEvent.Type.choices)
    occurred_at = serializers.DateTimeField(
        required=False, help_text="When it happened; now when left out."
    )
    url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    vin = serializers.CharField(max_length=17, required=False, allow_blank=True)
    stock = serializers.CharField(max_length=32, required=False, allow_blank=True)
    make = serializers.CharField(max_length=50, required=False, allow_blank=True)
    model = serializers.CharField(max_length=50, required=False, allow_blank=True)
    session_id = serializers.CharField(max_length=64, required=False, allow_blank=True)
    email = serializers.CharField(
        max_length=254,
        required=False,
        allow_blank=True,
        help_text="Identifies the visitor (e.g. a newsletter sign-up).",
    )
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)

    def validate_occurred_at(self, value):
        if value > timezone.now() + timezone.timedelta(minutes=5):
            raise serializers.ValidationError("An event cannot happen in the future.")
        return value

    @staticmethod
    def event(data):
        """The WebEventInput of one validated event."""
        return WebEventInput(
            visitor_id=data["visitor_id"].strip(),
            type=data["type"],
            occurred_at=data.get("occurred_at") or timezone.now(),
            **{
                name: data.get(name, "")
                for name in ("url", "vin", "stock", "make", "model", "session_id", "email", "phone")
            },
        )


# --- output ------------------------------------------------------------------------------------


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return person_name(user)


class CustomerOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()


class VehicleOutSerializer(serializers.Serializer):
    year = serializers.IntegerField(source="vehicle_year", allow_null=True)
    make = serializers.CharField(source="vehicle_make")
    model = serializers.CharField(source="vehicle_model")
    trim = serializers.CharField(source="vehicle_trim")
    vin = serializers.CharField(source="vehicle_vin")
    stock = serializers.CharField(source="vehicle_stock")
    condition = serializers.CharField(source="vehicle_condition")


class TradeInOutSerializer(serializers.Serializer):
    year = serializers.IntegerField(source="tradein_year", allow_null=True)
    make = serializers.CharField(source="tradein_make")
    model = serializers.CharField(source="tradein_model")
    vin = serializers.CharField(source="tradein_vin")
    mileage = serializers.IntegerField(source="tradein_mileage", allow_null=True)


class RoutingCandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    open_leads = serializers.IntegerField()
    capacity = serializers.IntegerField()
    response_seconds = serializers.FloatField(
        allow_null=True, help_text="Median first response over 30 days."
    )
    weight = serializers.FloatField(allow_null=True, help_text="Share of turns in a rotation.")
    skipped = serializers.CharField(help_text="Why they could not take the lead; empty if free.")


class RoutingRuleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class RoutingDecisionSerializer(serializers.Serializer):
    """What a routing decision says (leads.routing.decision_json)."""

    outcome = serializers.ChoiceField(choices=["assigned", "pool"])
    rule = RoutingRuleRefSerializer(allow_null=True)
    strategy = serializers.CharField(allow_blank=True)
    explanation = serializers.CharField()
    candidates = RoutingCandidateSerializer(many=True)
    trail = serializers.ListField(
        child=serializers.CharField(), help_text="Rules passed over before, and why."
    )
    sla_minutes = serializers.IntegerField()
    max_rotations = serializers.IntegerField()
    manager_id = serializers.IntegerField(
        allow_null=True, help_text="The rule's named manager, who hears of missed responses."
    )


class RoutingOutSerializer(RoutingDecisionSerializer):
    """A routing decision as the lead keeps it."""

    kind = serializers.ChoiceField(
        choices=["routed", "rotated", "to_pool", "claimed", "reassigned"],
        help_text="routed: at intake. rotated: the first response was missed and the next "
        "candidate got it. to_pool: missed too often, or nobody left. claimed: taken from the "
        "pool. reassigned: by a manager.",
    )
    at = serializers.DateTimeField()
    rotation = serializers.IntegerField(help_text="Missed first responses so far.")
    due_at = serializers.DateTimeField(allow_null=True)


@extend_schema_field(RoutingOutSerializer)
class RoutingField(serializers.Field):
    """A stored routing decision, sent as stored: it is already the JSON RoutingOutSerializer
    documents, and building it field by field would cost more than the rest of a lead."""

    def __init__(self, **kwargs):
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return value or None


class LeadSerializer(serializers.Serializer):
    """A lead as lists and intake answers show it. A plain Serializer: a ModelSerializer
    rebuilds its fields from the model on every use, which the intake answer cannot afford."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=LeadStatus.choices)
    source = serializers.CharField()
    channel = serializers.ChoiceField(choices=Lead.Channel.choices)
    external_id = serializers.CharField()
    customer = CustomerOutSerializer()
    owner = PersonSerializer(allow_null=True)
    team = serializers.CharField(source="team.name", allow_null=True, default=None)
    vehicle = VehicleOutSerializer(source="*")
    score = serializers.IntegerField()
    score_band = serializers.ChoiceField(choices=list(SCORE_BANDS))
    created_at = serializers.DateTimeField()
    first_response_due_at = serializers.DateTimeField(allow_null=True)
    first_contacted_at = serializers.DateTimeField(allow_null=True)
    last_activity_at = serializers.DateTimeField(allow_null=True)
    last_seen_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    routing = RoutingField(
        source="routing_decision",
        allow_null=True,
        help_text="Why the lead is with its owner or in its pool: the latest routing decision.",
    )


class IntakeResponseSerializer(LeadSerializer):
    outcome = serializers.ChoiceField(
        choices=["created", "merged", "already_received"],
        help_text="created: a new lead (201). merged: a repeat inquiry joined the customer's "
        "open lead (200). already_received: this inquiry was received before (200).",
    )

    def to_representation(self, result):
        """`result` is an IntakeResult: its outcome, then the lead."""
        return {
            "outcome": result.outcome,
            **LeadSerializer(result.lead, context=self.context).data,
        }


class ScoreFactorSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    points = serializers.IntegerField()
    detail = serializers.CharField()


class ContactIssueSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField()
    problem = serializers.CharField()


class LeadEventOutSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="actor_name")
    routing = RoutingField(allow_null=True, help_text="On an assignment: its decision.")
    reason = serializers.CharField(source="reason.label", allow_null=True, default=None)
    from_owner = serializers.IntegerField(source="from_owner_id", allow_null=True)
    to_owner = serializers.IntegerField(source="to_owner_id", allow_null=True)

    class Meta:
        model = LeadEvent
        fields = [
            "kind",
            "at",
            "by",
            "from_status",
            "to_status",
            "from_owner",
            "to_owner",
            "reason",
            "cause",
            "note",
            "routing",
        ]


class InquiryOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Inquiry
        fields = [
            "id",
            "source",
            "external_id",
            "channel",
            "payload_format",
            "outcome",
            "received_at",
            "requested_at",
            "warnings",
            "raw_payload",
        ]


class WebProfileSerializer(serializers.Serializer):
    sessions = serializers.IntegerField()
    page_views = serializers.IntegerField()
    vehicles_viewed = serializers.IntegerField()
    forms_viewed = serializers.IntegerField()
    forms_submitted = serializers.IntegerField()
    chats = serializers.IntegerField()
    call_clicks = serializers.IntegerField()
    first_seen_at = serializers.DateTimeField(allow_null=True)
    last_seen_at = serializers.DateTimeField(allow_null=True)
    top_vehicles = serializers.SerializerMethodField()

    def get_top_vehicles(self, profile) -> list[dict]:
        return [{"vehicle": label, "views": views} for label, views in profile.top_vehicles]


class LeadDetailSerializer(LeadSerializer):
    """The whole lead: customer, vehicle, trade-in, score factors, website profile, history."""

    trade_in = TradeInOutSerializer(source="*")
    purchase_horizon = serializers.ChoiceField(choices=Lead.PurchaseHorizon.choices)
    comments = serializers.CharField()
    score_factors = ScoreFactorSerializer(many=True)
    contact_issues = ContactIssueSerializer(many=True)
    close_reason = serializers.CharField(source="close_reason.label", allow_null=True, default=None)
    web_profile = WebProfileSerializer()
    history = LeadEventOutSerializer(source="events", many=True)
    inquiries = InquiryOutSerializer(many=True)


# --- routing -----------------------------------------------------------------------------------


class ReassignInSerializer(serializers.Serializer):
    owner = serializers.IntegerField(
        allow_null=True, help_text="The new owner's user id; null puts the lead in its pool."
    )
    reason = serializers.CharField(max_length=500, help_text="Why; the history keeps it.")


class RoutingStaffSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user_id")
    name = serializers.SerializerMethodField()
    role = serializers.CharField()
    team = serializers.CharField(source="team.name", allow_null=True, default=None)
    active = serializers.BooleanField()
    on_shift = serializers.BooleanField()
    capacity = serializers.IntegerField()
    open_leads = serializers.IntegerField()
    response_seconds = serializers.FloatField(
        allow_null=True, help_text="Median first response over the last 30 days."
    )

    def get_name(self, profile) -> str:
        return person_name(profile.user)


class RoutingStaffInSerializer(serializers.Serializer):
    on_shift = serializers.BooleanField(required=False)
    capacity = serializers.IntegerField(min_value=0, max_value=1000, required=False)


PREVIEW_REACH = timedelta(days=3653)


class RoutingPreviewInSerializer(serializers.Serializer):
    """A real lead (`lead`), or a lead typed in; and optionally a draft rule set."""

    lead = serializers.IntegerField(required=False, help_text="Preview an existing lead.")
    source = serializers.CharField(max_length=64, required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=Lead.Channel.choices, required=False)
    score = serializers.IntegerField(min_value=0, max_value=100, required=False)
    vehicle_condition = serializers.ChoiceField(
        choices=[Lead.Condition.NEW, Lead.Condition.USED], required=False, allow_blank=True
    )
    make = serializers.CharField(max_length=50, required=False, allow_blank=True)
    known_customer = serializers.BooleanField(required=False)
    previous_owner = serializers.IntegerField(
        required=False, allow_null=True, help_text="The customer's previous salesperson."
    )
    at = serializers.DateTimeField(
        required=False, help_text="When; now when left out. Within ten years of now."
    )
    rules = serializers.ListField(
        # An id beyond 64 bits names no rule, and SQLite cannot compare with it (it was a 500).
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_empty=False,
        help_text="Decide with these rules (active or not) instead of the active ones.",
    )

    def validate_at(self, value):
        # The first-response deadline counts opening hours forward from `at`: near the last
        # date Python knows, that ran out of calendar (a 500).
        if abs(value - timezone.now()) > PREVIEW_REACH:
            raise serializers.ValidationError("Preview a moment within ten years of now.")
        return value


class RoutingPreviewSerializer(RoutingDecisionSerializer):
    owner = serializers.DictField(allow_null=True, help_text="{id, name}")
    team = serializers.IntegerField(allow_null=True)
    due_at = serializers.DateTimeField()
