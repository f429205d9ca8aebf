"""The routing rules API, for managers: the same selectors and services as the rules pages."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from dealercrm.api import capability
from routing.api.serializers import RuleInSerializer, RuleSerializer
from routing.conditions import InvalidConditions
from routing.errors import InvalidRule
from routing.selectors import rule_for_page, rules_for_page
from routing.services import rule_create, rule_delete, rule_update

CanManageRouting = capability("routing.manage_routing")

REFUSED = OpenApiResponse(
    description="Keyed by the field that is wrong, a condition under `conditions`: "
    '`{"conditions": {"channels": ["unknown channel fax."]}}`.'
)
NO_SUCH_RULE = OpenApiResponse(description="No such routing rule.")


def refused(error):
    """An InvalidRule as the 400 that bad input gets from DRF: keyed by the field it names, a
    condition nested under `conditions` as it was posted."""
    if isinstance(error, InvalidConditions) and error.field != "conditions":
        return serializers.ValidationError({"conditions": {error.field: [error.message]}})
    return serializers.ValidationError({error.field: [error.message]})


@extend_schema_view(
    list=extend_schema(
        summary="List the routing rules in the order they run",
        responses={200: RuleSerializer, 404: OpenApiResponse(description="No such page.")},
    ),
    retrieve=extend_schema(
        summary="Read a routing rule", responses={200: RuleSerializer, 404: NO_SUCH_RULE}
    ),
)
class RuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Routing rules run in `priority` order, lower first; the first rule that matches a lead and
    finds somebody decides who gets it."""

    permission_classes = [IsAuthenticated, CanManageRouting]
    serializer_class = RuleSerializer

    def get_queryset(self):
        return rules_for_page()

    @extend_schema(
        request=RuleInSerializer,
        responses={201: RuleSerializer, 400: REFUSED},
        summary="Create a routing rule",
    )
    def create(self, request):
        data = self._valid(request, partial=False)
        try:
            rule = rule_create(by=request.user, **data)
        except InvalidRule as error:
            raise refused(error) from None
        return Response(RuleSerializer(rule_for_page(rule.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=RuleInSerializer,
        responses={200: RuleSerializer, 400: REFUSED, 404: NO_SUCH_RULE},
        summary="Change a routing rule (only the fields given)",
    )
    def partial_update(self, request, pk=None):
        rule = self.get_object()
        data = self._valid(request, partial=True)
        try:
            rule_update(rule=rule, by=request.user, **data)
        except InvalidRule as error:
            raise refused(error) from None
        return Response(RuleSerializer(rule_for_page(rule.pk)).data)

    @extend_schema(responses={204: None, 404: NO_SUCH_RULE}, summary="Delete a routing rule")
    def destroy(self, request, pk=None):
        rule_delete(rule=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def _valid(request, *, partial):
        serializer = RuleInSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
