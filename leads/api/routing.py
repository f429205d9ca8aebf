"""The routing endpoints that need leads: the routable staff with their loads, and preview.
The rules themselves live in routing.api. Managers only."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dealercrm.api import capability
from dealercrm.services import staff_set_routing
from leads.api.serializers import (
    RoutingPreviewInSerializer,
    RoutingPreviewSerializer,
    RoutingStaffInSerializer,
    RoutingStaffSerializer,
)
from leads.routing import decision_json, routing_preview_for
from leads.selectors import staff_for_routing

CanManageRouting = capability("routing.manage_routing")

NO_SUCH_PAGE = OpenApiResponse(description="No such page.")


@extend_schema_view(list=extend_schema(responses={200: RoutingStaffSerializer, 404: NO_SUCH_PAGE}))
class RoutingStaffViewSet(mixins.ListModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """People who can own leads: shift, capacity, open leads and response speed."""

    permission_classes = [IsAuthenticated, CanManageRouting]
    serializer_class = RoutingStaffSerializer
    http_method_names = ["get", "patch"]
    lookup_field = "user_id"
    lookup_url_kwarg = "id"
    # A 64-bit key has at most 19 digits; a longer number is no one (404), not a database error.
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        return staff_for_routing()

    @extend_schema(
        request=RoutingStaffInSerializer,
        responses={
            200: RoutingStaffSerializer,
            400: OpenApiResponse(description="Names each field that was wrong."),
            404: OpenApiResponse(description="Nobody who can own leads has this user id."),
        },
    )
    def partial_update(self, request, id):
        profile = self.get_object()
        changes = RoutingStaffInSerializer(data=request.data)
        changes.is_valid(raise_exception=True)
        staff_set_routing(user=profile.user, by=request.user, **changes.validated_data)
        return Response(RoutingStaffSerializer(self.get_queryset().get(pk=profile.pk)).data)


class RoutingPreviewView(APIView):
    """Who would get a lead now, and why; nothing is assigned or written."""

    permission_classes = [IsAuthenticated, CanManageRouting]

    @extend_schema(
        request=RoutingPreviewInSerializer,
        responses={
            200: RoutingPreviewSerializer,
            400: OpenApiResponse(description="Names each field that was wrong."),
            404: OpenApiResponse(
                description="No such `lead` (or not visible to you), or no such `previous_owner`."
            ),
        },
        summary="Preview routing for a lead, real or typed in",
    )
    def post(self, request):
        data = RoutingPreviewInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        decision, due_at = routing_preview_for(request.user, data.validated_data)
        return Response(preview_body(decision, due_at))


def preview_body(decision, due_at):
    owner = None
    if decision.owner_id is not None:
        owner = {"id": decision.owner_id, "name": decision.owner_name}
    return {
        **decision_json(decision),
        "owner": owner,
        "team": decision.team_id,
        "due_at": serializers.DateTimeField().to_representation(due_at),
    }
