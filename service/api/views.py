"""The service API: bookings, visits and quotes that the dealer's systems post (JSON or ADF/XML),
opportunity reads, and what advisors record on them: losses, stages, parts arrived.

Thin: input serializers check the request, `service.services` writes, `service.permissions`
decides which rows a reader sees and whether they see money.
"""

from django.db import transaction
from django.db.models import Prefetch
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dealercrm.api import capability
from dealercrm.errors import DomainError
from leads.adf import parse_adf
from leads.api.views import AdfMediaTypeParser, AdfParser, TextXmlAdfParser
from service.adf import opportunity_data
from service.api.serializers import (
    AdvanceInSerializer,
    LossInSerializer,
    LossLoggedSerializer,
    OpportunityDetailSerializer,
    OpportunityInSerializer,
    OpportunityReceivedSerializer,
    OpportunitySerializer,
    PartsArrivedSerializer,
    work_lines,
)
from service.errors import InvalidOpportunity
from service.filters import OpportunityFilter
from service.models import ServiceEvent, ServiceLoss, ServiceOpportunity
from service.permissions import (
    can_see_money,
    get_loss_for_user_or_404,
    get_opportunity_for_user_or_404,
)
from service.selectors import ROW, opportunity_list_for_user
from service.services import (
    loss_log,
    loss_parts_arrived,
    opportunity_advance,
    opportunity_open,
)

CanPost = capability("service.add_serviceopportunity")
CanView = capability("service.view_serviceopportunity")
CanLogLoss = capability("service.add_serviceloss")
CanChange = capability("service.change_serviceopportunity")

ADF_MEDIA_TYPES = ("application/xml", "text/xml", "application/x-adf+xml")


# --- loading plans -----------------------------------------------------------------------------


def opportunity_for_detail(user):
    """One opportunity with what its detail shows: the row with customer, vehicle and advisor
    joined, its history with the actors and, for those who may see lost sales, its losses with
    their reason and logger. Losses the reader may not see are not read at all."""
    plan = [Prefetch("events", queryset=ServiceEvent.objects.select_related("actor"))]
    if can_see_losses(user):
        plan.append(
            Prefetch("losses", queryset=ServiceLoss.objects.select_related("reason", "logged_by"))
        )
    return ServiceOpportunity.objects.select_related(*ROW).prefetch_related(*plan)


def can_see_losses(user):
    return user.has_perm("service.view_serviceloss")


# --- receiving ---------------------------------------------------------------------------------


def _receive(data, *, by):
    """Open the opportunity `data` describes (validated JSON, or an ADF prospect in the same
    shape), or recognise it by source and external id. Returns (opportunity, created)."""
    car = data.get("vehicle") or None
    if car:
        car = {**car, "mileage": car.get("mileage") or data.get("mileage")}
    return opportunity_open(
        source=data["source"],
        external_id=data["external_id"],
        stage=data["stage"],
        contact=data["customer"],
        car=car,
        title=data["title"],
        estimated_value=data["estimated_value"],
        advisor=data.get("advisor"),
        booked_for=data.get("booked_for"),
        mileage=data.get("mileage"),
        items=work_lines(data.get("items")),
        by=by,
    )


def _received(opportunity, created):
    return OpportunityReceivedSerializer(opportunity, context={"created": created}).data


RECEIVED = PolymorphicProxySerializer(
    component_name="OpportunityReceivedOrList",
    serializers=[OpportunityReceivedSerializer, OpportunityReceivedSerializer(many=True)],
    resource_type_field_name=None,
    many=False,
)

RECEIVE_EXAMPLE = {
    "source": "booking",
    "external_id": "dms-booking-88213",
    "title": "Annual service and front brake pads",
    "estimated_value": "640.00",
    "stage": "booked",
    "booked_for": "2026-03-14T08:30:00-05:00",
    "mileage": 84250,
    "advisor": "service.advisor",
    "items": [
        {"description": "Annual service", "amount": "400.00"},
        {"description": "Front brake pads", "amount": "240.00"},
    ],
    "customer": {
        "first_name": "Sample",
        "last_name": "Customer",
        "email": "sample.customer@example.com",
        "phone": "(202) 555-0143",
    },
    "vehicle": {
        "vin": "2HGFC2F59HH512345",
        "year": 2017,
        "make": "Honda",
        "model": "Civic",
        "mileage": 84250,
    },
}

ADF_EXAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<?adf version="1.0"?>
<adf>
  <prospect status="new">
    <id source="dealer-website">svc-20260310-0042</id>
    <requestdate>2026-03-10T09:12:00-05:00</requestdate>
    <vehicle interest="service">
      <year>2017</year><make>Honda</make><model>Civic</model>
      <vin>2HGFC2F59HH512345</vin><odometer units="km">84250</odometer>
    </vehicle>
    <customer>
      <contact>
        <name part="first">Sample</name><name part="last">Customer</name>
        <email>sample.customer@example.com</email><phone>202-555-0143</phone>
      </contact>
      <comments>oil change and brake noise</comments>
    </customer>
  </prospect>
</adf>"""


# --- opportunities -----------------------------------------------------------------------------


class OpportunityViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    filterset_class = OpportunityFilter
    serializer_class = OpportunitySerializer
    # The ADF parsers serve the create endpoint's XML bodies; the actions take JSON only.
    parser_classes = [JSONParser, AdfParser, TextXmlAdfParser, AdfMediaTypeParser]

    # Reading one opportunity checks no capability here: the permission helper answers 404
    # alike for a missing row and for a reader who may not see it (a 403 would tell them the
    # row exists). Any other action needs the capability to view.
    CAPABILITIES = {
        "create": [CanPost],
        "list": [CanView],
        "retrieve": [],
        "losses": [CanLogLoss],
        "advance": [CanChange],
    }

    def get_permissions(self):
        needed = self.CAPABILITIES.get(self.action, [CanView])
        return [IsAuthenticated(), *(capability_class() for capability_class in needed)]

    def get_queryset(self):
        return opportunity_list_for_user(self.request.user)

    def get_serializer_context(self):
        user = self.request.user
        return {
            **super().get_serializer_context(),
            "money": can_see_money(user),
            "losses": can_see_losses(user),
        }

    def _detail(self, request, pk):
        opportunity = get_opportunity_for_user_or_404(
            request.user, pk, opportunity_for_detail(request.user)
        )
        return OpportunityDetailSerializer(opportunity, context=self.get_serializer_context()).data

    @extend_schema(
        responses={
            200: OpportunitySerializer,
            400: OpenApiResponse(description="A filter is not valid; the body names it."),
            404: OpenApiResponse(description="No such page."),
        },
        summary="List service opportunities",
        description="Newest first, 50 a page. Money fields are left out for readers who may "
        "not see service money.",
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        responses={
            200: OpportunityDetailSerializer,
            404: OpenApiResponse(description="No such opportunity, or not visible to you."),
        },
        summary="Read a service opportunity with its losses and history",
        description="`losses` is present only for readers who may see lost sales "
        "(`service.view_serviceloss`); amounts only for those who may see service money, and "
        "the history's amounts read [amount] for the others.",
    )
    def retrieve(self, request, pk):
        return Response(self._detail(request, pk))

    @extend_schema(
        request={
            "application/json": OpportunityInSerializer,
            **{media_type: {"type": "string"} for media_type in ADF_MEDIA_TYPES},
        },
        responses={
            201: OpenApiResponse(
                RECEIVED,
                description="Opened. JSON: one result. ADF: one result per prospect, in "
                "document order, at least one of them new.",
            ),
            200: OpenApiResponse(
                RECEIVED,
                description="Known already (same source and external id): nothing opened; "
                "moved on when the post named a later stage.",
            ),
            400: OpenApiResponse(
                description="Names each field that was wrong, or says in `detail` what was "
                "refused (an ADF prospect without an <id>, a DTD, a stage that cannot start an "
                "opportunity). Nothing is written."
            ),
            413: OpenApiResponse(description="An ADF document larger than the limit."),
        },
        summary="Post a booking, a visit or a quote (JSON), or service requests (ADF/XML)",
        description="Idempotent per source and external id. An ADF document opens one "
        "opportunity per prospect (source `web`, the prospect's <id> as external id, the "
        "vehicle of interest as the car to service, the comments in the title, value 0 until "
        "estimated); every prospect needs an <id>.",
        examples=[
            OpenApiExample("A booking from the DMS", request_only=True, value=RECEIVE_EXAMPLE),
            OpenApiExample(
                "A service request in ADF",
                request_only=True,
                value=ADF_EXAMPLE,
                media_type="application/xml",
            ),
            OpenApiExample(
                "Opened",
                response_only=True,
                status_codes=["201"],
                value={
                    "id": 1042,
                    "source": "booking",
                    "external_id": "dms-booking-88213",
                    "stage": "booked",
                    "status": "open",
                    "created": True,
                    "url": "/service/opportunities/1042/",
                },
            ),
        ],
    )
    def create(self, request):
        if isinstance(request.data, bytes):
            return self._receive_adf(request)
        data = OpportunityInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        opportunity, created = _receive(data.validated_data, by=request.user)
        return Response(
            _received(opportunity, created),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def _receive_adf(self, request):
        # Every prospect is read and checked before anything is written, and all are written in
        # one transaction: a refused prospect leaves none of the others half-received.
        wanted = [
            opportunity_data(submission, number)
            for number, submission in enumerate(parse_adf(request.data), start=1)
        ]
        results = []
        with transaction.atomic():
            for number, data in enumerate(wanted, start=1):
                try:
                    results.append(_receive(data, by=request.user))
                except DomainError as refusal:
                    raise InvalidOpportunity(f"Prospect {number}: {refusal}") from None
        created = any(was_created for _, was_created in results)
        return Response(
            [_received(opportunity, was_created) for opportunity, was_created in results],
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        request=LossInSerializer,
        responses={
            201: LossLoggedSerializer,
            400: OpenApiResponse(
                description="A field that was wrong, or what the service refused: a closed "
                "opportunity, an unknown reason, an amount above what the work is worth."
            ),
            404: OpenApiResponse(description="No such opportunity, or not visible to you."),
        },
        summary="Log a lost service sale, whole or in part",
        description="A no-show, a cancelled appointment or a cancelled order closes the "
        "opportunity; so does a declined quote for its whole value. A reduced scope lowers "
        "the estimate and keeps it open.",
        examples=[
            OpenApiExample(
                "Part of a quote declined",
                request_only=True,
                value={
                    "event": "quote_declined",
                    "reason": "price_too_high",
                    "amount": "240.00",
                    "note": "Will think about the brakes after the holidays.",
                    "declined_items": [{"description": "Front brake pads", "amount": "240.00"}],
                },
            )
        ],
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def losses(self, request, pk):
        opportunity = get_opportunity_for_user_or_404(request.user, pk)
        data = LossInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        loss = loss_log(
            opportunity=opportunity,
            event=data.validated_data["event"],
            reason=data.validated_data["reason"],
            amount=data.validated_data.get("amount"),
            note=data.validated_data.get("note", ""),
            declined_items=data.validated_data.get("declined_items", ()),
            by=request.user,
        )
        return Response(
            LossLoggedSerializer(loss, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        request=AdvanceInSerializer,
        responses={
            200: OpportunityDetailSerializer,
            400: OpenApiResponse(
                description="A stage that is not ahead of the current one, or a closed opportunity."
            ),
            404: OpenApiResponse(description="No such opportunity, or not visible to you."),
        },
        summary="Move an opportunity forward (check-in, work, delivery...)",
        examples=[
            OpenApiExample(
                "Delivered",
                request_only=True,
                value={"stage": "delivered", "actual_value": "655.40", "mileage": 84262},
            )
        ],
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def advance(self, request, pk):
        opportunity = get_opportunity_for_user_or_404(request.user, pk)
        data = AdvanceInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        opportunity_advance(
            opportunity=opportunity,
            to_stage=data.validated_data["stage"],
            actual_value=data.validated_data.get("actual_value"),
            mileage=data.validated_data.get("mileage"),
            by=request.user,
        )
        return Response(self._detail(request, pk))


class LossPartsArrivedView(APIView):
    """The parts a lost sale waited for are in: its declined work comes back to the advisor."""

    permission_classes = [IsAuthenticated, CanChange]

    @extend_schema(
        request=None,
        responses={
            200: PartsArrivedSerializer,
            404: OpenApiResponse(description="No such lost sale, or not visible to you."),
        },
        summary="Tell that the parts for a lost sale arrived",
        description="Once per lost sale: a second call, or one on a sale won back or given up, "
        "makes no follow-up (`follow_up_made` false).",
    )
    def post(self, request, pk):
        loss = get_loss_for_user_or_404(request.user, pk)
        recapture = loss_parts_arrived(loss=loss, by=request.user)
        return Response(
            PartsArrivedSerializer(
                {
                    "loss": loss.pk,
                    "follow_up_made": recapture is not None,
                    "recapture": recapture.pk if recapture is not None else None,
                }
            ).data
        )
