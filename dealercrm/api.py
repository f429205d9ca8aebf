"""What every API endpoint shares: the error body and permission checks by capability."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from dealercrm.errors import DomainError
from dealercrm.periods import default_period, period_refusal

RATE_LIMITED = OpenApiResponse(
    description="Too many requests from this account (see RATE_LIMITS): nothing was stored. "
    "Send again after the seconds in the Retry-After header."
)


def exception_handler(exc, context):
    """DRF's handler, plus: a refusal from the domain is a 400 whose `detail` says what was
    wrong in the words the service used."""
    if isinstance(exc, DomainError):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


def capability(permission):
    """A DRF permission class granting access to users who hold `permission` ("app.codename")."""

    class HasCapability(BasePermission):
        message = f"This account may not do this (it lacks {permission})."

        def has_permission(self, request, view):
            return bool(request.user and request.user.has_perm(permission))

    HasCapability.__name__ = f"Has_{permission.replace('.', '_')}"
    return HasCapability


class PeriodQuerySerializer(serializers.Serializer):
    """A report's period from the query string: by default the last 12 months up to today."""

    start = serializers.DateField(
        required=False,
        help_text="First day (YYYY-MM-DD). Default: the first of the month eleven months "
        "before `end`.",
    )
    end = serializers.DateField(
        required=False, help_text="Last day, included (YYYY-MM-DD). Default: today."
    )

    def validate(self, data):
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or default_period(end).start
        refusal = period_refusal(start, end)
        if refusal:
            raise serializers.ValidationError(refusal)
        return {**data, "start": start, "end": end}


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Included.")
    days = serializers.IntegerField()
