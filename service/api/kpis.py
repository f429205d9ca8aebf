"""The service KPIs in the API: the same figures as the KPI page (`service.kpis.service_kpis`),
as JSON, for service managers (`service.view_service_kpis` and `service.view_service_money`)."""

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dealercrm.api import PeriodQuerySerializer, PeriodSerializer, capability
from dealercrm.periods import MAX_PERIOD_YEARS, Period
from service.kpis import service_kpis


def _money(**kwargs):
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


def _percent(help_text):
    return serializers.DecimalField(
        max_digits=16, decimal_places=1, allow_null=True, help_text=help_text
    )


class TotalsSerializer(serializers.Serializer):
    at_stake = _money(help_text="Initial value of the opportunities opened in the period.")
    opened = serializers.IntegerField(help_text="Opportunities opened in the period.")
    lost = _money(help_text="Amounts of the losses logged in the period.")
    losses = serializers.IntegerField()
    percent = _percent("Lost as a percentage of the money at stake.")


class TrendSerializer(serializers.Serializer):
    current = TotalsSerializer()
    previous = TotalsSerializer(help_text="The same number of days just before the period.")
    lost_change = _money()
    lost_change_percent = _percent("Change of the lost money, % of the previous period's.")
    at_stake_change = _money()
    percent_change = _percent("Change of `percent`, in percentage points.")


class ReasonSerializer(serializers.Serializer):
    reason_id = serializers.IntegerField()
    code = serializers.CharField()
    label = serializers.CharField()
    lost = _money()
    losses = serializers.IntegerField()
    percent_of_stake = _percent("Lost to this reason, % of all money at stake.")
    share_of_lost = _percent("Lost to this reason, % of all money lost.")
    previous_lost = _money()
    previous_losses = serializers.IntegerField()
    change = _money()
    change_percent = _percent("Change, % of the previous period's loss to this reason.")


class AdvisorSerializer(serializers.Serializer):
    advisor_id = serializers.IntegerField(allow_null=True, help_text="null: no advisor.")
    name = serializers.CharField()
    lost = _money(help_text="Losses logged while they were the opportunity's advisor.")
    losses = serializers.IntegerField()
    at_stake = _money(help_text="Opportunities opened in the period with them as advisor.")
    opened = serializers.IntegerField()
    percent = _percent("Lost as a percentage of their money at stake.")


class MonthSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="The first of the month.")
    lost = _money()
    losses = serializers.IntegerField()
    at_stake = _money()
    opened = serializers.IntegerField()
    percent = _percent("Lost as a percentage of the money at stake that month.")


class RecoverySerializer(serializers.Serializer):
    lost = _money(help_text="Lost in the period.")
    losses = serializers.IntegerField()
    won_back = _money(help_text="Recovery work delivered, at what was invoiced.")
    won_back_count = serializers.IntegerField()
    won_back_percent = _percent("Won back, % of the money lost.")
    booked_back = _money(help_text="Recovery work still open, at its estimate.")
    booked_back_count = serializers.IntegerField()
    booked_back_percent = _percent("Booked back, % of the money lost.")
    recaptures = serializers.IntegerField(help_text="Times a lost sale was brought back.")
    recaptures_booked = serializers.IntegerField()


class ActionSerializer(serializers.Serializer):
    action_id = serializers.IntegerField()
    action = serializers.CharField()
    reason_id = serializers.IntegerField()
    reason_label = serializers.CharField()
    started_on = serializers.DateField()
    window_days = serializers.IntegerField(help_text="Days in each window (30 to 180).")
    before_start = serializers.DateField()
    before_end = serializers.DateField()
    after_start = serializers.DateField()
    after_end = serializers.DateField()
    complete = serializers.BooleanField(help_text="The after window has ended.")
    days_observed = serializers.IntegerField()
    before_losses = serializers.IntegerField()
    before_reason_losses = serializers.IntegerField()
    after_losses = serializers.IntegerField()
    after_reason_losses = serializers.IntegerField()
    before_lost = _money()
    before_reason_lost = _money()
    after_lost = _money()
    after_reason_lost = _money()
    before_count_share = _percent("The reason's share of the losses before, by count.")
    after_count_share = _percent("The reason's share of the losses after, by count.")
    count_share_change = _percent("In percentage points.")
    before_money_share = _percent("The reason's share of the money lost before.")
    after_money_share = _percent("The reason's share of the money lost after.")
    money_share_change = _percent("In percentage points.")


class ServiceKpisSerializer(serializers.Serializer):
    currency_symbol = serializers.SerializerMethodField()
    period = PeriodSerializer()
    previous_period = PeriodSerializer()
    totals = TotalsSerializer()
    trend = TrendSerializer()
    by_reason = ReasonSerializer(many=True)
    by_advisor = AdvisorSerializer(many=True)
    by_month = MonthSerializer(many=True)
    recovery = RecoverySerializer()
    actions = ActionSerializer(many=True, help_text="Corrective actions started in the period.")
    more_actions = serializers.BooleanField(help_text="More actions started than are listed.")

    def get_currency_symbol(self, figures) -> str:
        return settings.CURRENCY_SYMBOL


class ServiceKpisView(APIView):
    permission_classes = [
        IsAuthenticated,
        capability("service.view_service_kpis"),
        capability("service.view_service_money"),
    ]

    @extend_schema(
        summary="Service KPIs of a period",
        description=(
            "Lost service revenue by reason (with the previous period), by advisor and by "
            "month, against the money at stake; what was won back; and each corrective action "
            "started in the period with its reason's share of the losses before and after. "
            f"The period is at most {MAX_PERIOD_YEARS} years; by default the last 12 months. "
            "Money is a decimal string in the dealership's currency (`currency_symbol`)."
        ),
        parameters=[PeriodQuerySerializer],
        responses={
            200: ServiceKpisSerializer,
            400: OpenApiResponse(description="The period is not valid; the body says why."),
        },
        tags=["service"],
    )
    def get(self, request):
        query = PeriodQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        period = Period(query.validated_data["start"], query.validated_data["end"])
        figures = service_kpis(period.start, period.end)
        return Response(ServiceKpisSerializer(figures).data)


urlpatterns = [path("service/kpis/", ServiceKpisView.as_view(), name="service-kpis")]
