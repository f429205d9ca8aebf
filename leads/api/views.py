"""The lead API: intake from every machine channel, website activity, and lead reads.

Thin: input serializers build a Submission, `leads.intake` does the work, the selectors and
permission helpers of the HTML pages decide what a reader sees.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dealercrm.api import RATE_LIMITED, capability
from dealercrm.ratelimits import IntakeThrottle
from leads.adf import MAX_ADF_BYTES, parse_adf
from leads.api.serializers import (
    CallSubmissionSerializer,
    IntakeResponseSerializer,
    LeadDetailSerializer,
    LeadSerializer,
    LeadSubmissionSerializer,
    ReassignInSerializer,
    WebEventInSerializer,
)
from leads.filters import LeadFilter
from leads.intake import lead_intake
from leads.permissions import get_lead_for_user_or_404
from leads.routing import lead_claim, lead_reassign
from leads.selectors import lead_detail_for_user, lead_list_for_user
from leads.tracking import web_events_record

CanSubmit = capability("leads.submit_leads")
CanViewLeads = capability("leads.view_lead")
CanWorkLeads = capability("leads.change_lead")
CanReassign = capability("leads.reassign_lead")

# One request may carry this many website events.
MAX_EVENTS_PER_REQUEST = 1000


def _raw_body(request):
    """The body as received, kept with the lead. Read before DRF parses it, which then parses
    the same bytes."""
    return request.body.decode("utf-8", errors="replace")


def _intake_response(results):
    """One result per inquiry; 201 when any made a new lead, else 200."""
    body = [IntakeResponseSerializer(result).data for result in results]
    created = any(result.created for result in results)
    return body, status.HTTP_201_CREATED if created else status.HTTP_200_OK


def _receive(request, serializer_class):
    """Take in one JSON inquiry: validate it with `serializer_class` (which builds its
    Submission), run intake, answer 201 for a new lead and 200 otherwise."""
    raw = _raw_body(request)
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    result = lead_intake(serializer.submission(raw), received_by=request.user)
    body, code = _intake_response([result])
    return Response(body[0], status=code)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"An ADF document may be at most {MAX_ADF_BYTES:,} bytes."


class AdfParser(BaseParser):
    """Hands the ADF document to `leads.adf` as bytes: the XML declaration names the encoding."""

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None):
        data = stream.read(MAX_ADF_BYTES + 1) if stream is not None else b""
        if len(data) > MAX_ADF_BYTES:
            raise PayloadTooLarge()
        return data


class TextXmlAdfParser(AdfParser):
    media_type = "text/xml"


class AdfMediaTypeParser(AdfParser):
    media_type = "application/x-adf+xml"


INTAKE_RESPONSES = {
    201: OpenApiResponse(IntakeResponseSerializer, description="A new lead was created."),
    200: OpenApiResponse(
        IntakeResponseSerializer,
        description="No new lead: the inquiry was received before, or it was a repeat inquiry "
        "merged into the customer's open lead (see `outcome`).",
    ),
    429: RATE_LIMITED,
    400: OpenApiResponse(description="The request names each field that was wrong."),
}


NOT_VISIBLE = OpenApiResponse(description="No such lead, or not one this account may see.")


@extend_schema_view(
    list=extend_schema(
        responses={
            200: LeadSerializer(many=True),
            400: OpenApiResponse(description="A filter is not valid; the body names it."),
            404: OpenApiResponse(description="No such page."),
        }
    ),
    retrieve=extend_schema(responses={200: LeadDetailSerializer, 404: NOT_VISIBLE}),
)
class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filterset_class = LeadFilter

    def get_permissions(self):
        if self.action in ("create", "adf"):
            return [IsAuthenticated(), CanSubmit()]
        if self.action == "reassign":
            return [IsAuthenticated(), CanReassign()]
        if self.action == "claim":
            return [IsAuthenticated(), CanWorkLeads()]
        return [IsAuthenticated(), CanViewLeads()]

    def get_queryset(self):
        return lead_list_for_user(self.request.user)

    def get_serializer_class(self):
        return LeadDetailSerializer if self.action == "retrieve" else LeadSerializer

    def get_object(self):
        return lead_detail_for_user(self.request.user, self.kwargs["pk"])

    def get_throttles(self):
        return [IntakeThrottle()] if self.action in ("create", "adf") else []

    @extend_schema(
        request=LeadSubmissionSerializer,
        responses=INTAKE_RESPONSES,
        summary="Post a lead",
        examples=[
            OpenApiExample(
                "A website lead",
                request_only=True,
                value={
                    "source": "website",
                    "external_id": "form-20261122-0042",
                    "first_name": "Maria",
                    "last_name": "Lopez",
                    "email": "maria.lopez@example.com",
                    "phone": "(202) 555-0143",
                    "vehicle": {
                        "year": 2025,
                        "make": "Toyota",
                        "model": "RAV4",
                        "condition": "new",
                    },
                    "purchase_horizon": "within_month",
                    "visitor_id": "v-8f14e45f",
                    "consent": {"email": True, "sms": False, "phone": True},
                },
            )
        ],
    )
    def create(self, request):
        return _receive(request, LeadSubmissionSerializer)

    @extend_schema(
        request={
            "application/xml": {"type": "string"},
            "text/xml": {"type": "string"},
            "application/x-adf+xml": {"type": "string"},
        },
        responses={
            201: OpenApiResponse(
                IntakeResponseSerializer(many=True),
                description="One result per prospect, in document order; at least one new lead.",
            ),
            200: OpenApiResponse(
                IntakeResponseSerializer(many=True),
                description="Every prospect was received before (or merged into an open lead).",
            ),
            400: OpenApiResponse(description="Not an ADF document, malformed, or with a DTD."),
            413: OpenApiResponse(description="Larger than the limit."),
            429: RATE_LIMITED,
        },
        summary="Post an ADF/XML document",
    )
    @action(
        detail=False,
        methods=["post"],
        parser_classes=[AdfParser, TextXmlAdfParser, AdfMediaTypeParser],
        # The answer is one result per prospect, never a page of them.
        pagination_class=None,
    )
    def adf(self, request):
        submissions = parse_adf(request.data)
        results = [lead_intake(submission, received_by=request.user) for submission in submissions]
        body, code = _intake_response(results)
        return Response(body, status=code)

    @extend_schema(
        request=None,
        responses={
            200: LeadSerializer,
            400: OpenApiResponse(
                description="Someone claimed it first, it is closed, or the claimer already "
                "holds their capacity; `detail` says which."
            ),
            404: NOT_VISIBLE,
        },
        summary="Claim a lead from the pool",
        description="The first to claim gets it; a later claim answers 400 naming who has it. "
        "Refused when the claimer already holds their capacity of open leads.",
    )
    @action(detail=True, methods=["post"])
    def claim(self, request, pk):
        lead = get_lead_for_user_or_404(request.user, pk)
        lead = lead_claim(lead=lead, by=request.user)
        return Response(LeadSerializer(lead_list_for_user(request.user).get(pk=lead.pk)).data)

    @extend_schema(
        request=ReassignInSerializer,
        responses={
            200: LeadSerializer,
            400: OpenApiResponse(description="Names the field that was wrong, or the refusal."),
            404: NOT_VISIBLE,
        },
        summary="Reassign a lead (managers)",
    )
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk):
        lead = get_lead_for_user_or_404(request.user, pk)
        data = ReassignInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        owner = None
        if data.validated_data["owner"] is not None:
            owner = get_user_model().objects.filter(pk=data.validated_data["owner"]).first()
            if owner is None:
                raise serializers.ValidationError({"owner": ["No such person."]})
        lead = lead_reassign(
            lead=lead, owner=owner, by=request.user, reason=data.validated_data["reason"]
        )
        return Response(LeadSerializer(lead_list_for_user(request.user).get(pk=lead.pk)).data)


class WebEventsView(APIView):
    """Website activity. Tracking goes on after a lead is lost, disqualified or sold."""

    permission_classes = [IsAuthenticated, CanSubmit]
    throttle_classes = [IntakeThrottle]

    @extend_schema(
        request=WebEventInSerializer(many=True),
        responses={
            202: OpenApiResponse(
                inline_serializer(
                    "WebEventsAccepted",
                    {
                        "stored": serializers.IntegerField(),
                        "identified_visitors": serializers.IntegerField(),
                        "warnings": serializers.ListField(child=serializers.CharField()),
                    },
                ),
                description="Stored: `stored` events, `identified_visitors` newly linked to a "
                "customer, `warnings` about contact details that could not identify anyone.",
            ),
            400: OpenApiResponse(description="Names each bad event and field."),
            429: RATE_LIMITED,
        },
        summary="Post website events (one object or a list)",
    )
    def post(self, request):
        many = isinstance(request.data, list)
        if many and len(request.data) > MAX_EVENTS_PER_REQUEST:
            raise serializers.ValidationError(
                {"detail": f"Send at most {MAX_EVENTS_PER_REQUEST} events per request."}
            )
        serializer = WebEventInSerializer(data=request.data, many=many)
        serializer.is_valid(raise_exception=True)
        rows = serializer.validated_data if many else [serializer.validated_data]
        recorded = web_events_record([WebEventInSerializer.event(row) for row in rows])
        return Response(
            {
                "stored": recorded.stored,
                "identified_visitors": recorded.identified_visitors,
                "warnings": recorded.warnings,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class CallsView(APIView):
    """The call-tracking webhook: a call makes a phone lead (or joins the caller's open one)."""

    permission_classes = [IsAuthenticated, CanSubmit]
    throttle_classes = [IntakeThrottle]
    parser_classes = [JSONParser]

    @extend_schema(
        request=CallSubmissionSerializer, responses=INTAKE_RESPONSES, summary="Post a call"
    )
    def post(self, request):
        return _receive(request, CallSubmissionSerializer)
