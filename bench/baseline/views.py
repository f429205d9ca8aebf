"""The textbook DRF create: a ModelSerializer and a CreateAPIView, project-default token
authentication and IsAuthenticated. It takes the same JSON body as `POST /api/v1/leads/`."""

from rest_framework import generics, serializers

from bench.baseline.models import BaselineLead


class BaselineVehicleSerializer(serializers.Serializer):
    year = serializers.IntegerField(
        source="vehicle_year", min_value=1900, max_value=2100, required=False, allow_null=True
    )
    make = serializers.CharField(
        source="vehicle_make", max_length=50, required=False, allow_blank=True
    )
    model = serializers.CharField(
        source="vehicle_model", max_length=50, required=False, allow_blank=True
    )
    condition = serializers.ChoiceField(
        source="vehicle_condition", choices=["new", "used"], required=False, allow_blank=True
    )


class BaselineLeadSerializer(serializers.ModelSerializer):
    # source="*" reads and writes the vehicle_* columns of the row itself, so the body keeps the
    # nested `vehicle` object of the real intake.
    vehicle = BaselineVehicleSerializer(source="*", required=False)

    class Meta:
        model = BaselineLead
        fields = [
            "id",
            "source",
            "external_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "vehicle",
            "purchase_horizon",
            "created_at",
        ]


class BaselineLeadCreate(generics.CreateAPIView):
    serializer_class = BaselineLeadSerializer
