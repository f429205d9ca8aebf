"""The lead reports in the API: `GET /api/v1/reports/{report}/` answers with the figures the
report's page shows (`leads.reports`), for the same period and filters, to whoever may see the
reports (`leads.view_lead_reports`)."""

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dealercrm.api import PeriodQuerySerializer, PeriodSerializer, capability
from dealercrm.models import Team
from dealercrm.periods import MAX_PERIOD_YEARS, Period
from leads.models import LeadSource
from leads.report_forms import report_people
from leads.reports import REPORTS
from leads.reports.base import Filters, Kind
from leads.reports.exports import as_json


class ReportQuerySerializer(PeriodQuerySerializer):
    source = serializers.SlugRelatedField(
        slug_field="key",
        queryset=LeadSource.objects.all(),
        required=False,
        help_text="Only leads from this source (a lead source key).",
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.exclude(kind=Team.Kind.SERVICE),
        required=False,
        help_text="Only leads of this team (id).",
    )
    person = serializers.PrimaryKeyRelatedField(
        queryset=report_people(),
        required=False,
        help_text="Only leads owned by this person (user id).",
    )

    def filters(self):
        data = self.validated_data
        source = data.get("source")
        return Filters(
            period=Period(data["start"], data["end"]),
            source=source.key if source is not None else "",
            team=data.get("team"),
            person=data.get("person"),
        )


class FiltersSerializer(serializers.Serializer):
    source = serializers.CharField(allow_null=True)
    team = serializers.IntegerField(allow_null=True)
    person = serializers.IntegerField(allow_null=True)


KIND_HELP = (
    "How to read the value: "
    + ", ".join(kind.value for kind in Kind)
    + ". Percentages and numbers are JSON numbers, seconds and days too; money is a decimal "
    "string in the dealership's currency; a date is YYYY-MM-DD."
)


class FigureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=Kind.choices, help_text=KIND_HELP)
    value = serializers.JSONField(allow_null=True)
    benchmark = serializers.JSONField(
        allow_null=True, help_text="The field's figure or the dealership's goal, if any."
    )
    benchmark_text = serializers.CharField(help_text="What the benchmark is, in words.")


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=Kind.choices, help_text=KIND_HELP)


class TableSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    note = serializers.CharField()
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(child=serializers.JSONField(allow_null=True)),
        help_text="One object per row, keyed by the columns' keys.",
    )


class ReportSerializer(serializers.Serializer):
    report = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    period = PeriodSerializer()
    filters = FiltersSerializer()
    figures = FigureSerializer(many=True)
    tables = TableSerializer(many=True)


class ReportView(APIView):
    permission_classes = [IsAuthenticated, capability("leads.view_lead_reports")]

    @extend_schema(
        summary="A lead report",
        description=(
            "The figures of one lead report, as its page shows them: "
            + "; ".join(f"`{key}`: {module.SUMMARY}" for key, module in REPORTS.items())
            + f" Leads are counted when they were created in the period (at most "
            f"{MAX_PERIOD_YEARS} years; by default the last 12 months), unless the report "
            "says otherwise."
        ),
        parameters=[
            OpenApiParameter("report", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(REPORTS)),
            ReportQuerySerializer,
        ],
        responses={
            200: ReportSerializer,
            400: OpenApiResponse(description="A filter is not valid; the body says which."),
            404: OpenApiResponse(description="There is no such report."),
        },
        tags=["reports"],
    )
    def get(self, request, report):
        module = REPORTS.get(report)
        if module is None:
            raise Http404(f"There is no report '{report}'.")
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(as_json(module.build(query.filters(), timezone.localdate())))
