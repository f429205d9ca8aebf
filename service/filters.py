"""Filter sets shared by the service pages and the API."""

from datetime import datetime, time, timedelta

import django_filters
from django.utils import timezone

from dealercrm.filters import DayFilter, IdFilter
from leads.filters import customer_search
from service.models import ServiceOpportunity, Stage


def start_of_day(day):
    """Midnight of `day` in the dealership's time zone, so that date filters compare the stored
    datetimes (and use their indexes) instead of casting every row to a date."""
    return timezone.make_aware(datetime.combine(day, time.min))


class OpportunityFilter(django_filters.FilterSet):
    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label="Any stage")
    status = django_filters.ChoiceFilter(
        choices=ServiceOpportunity.Status.choices, empty_label="Any status"
    )
    source = django_filters.ChoiceFilter(
        choices=ServiceOpportunity.Source.choices, empty_label="Any source"
    )
    advisor = IdFilter(field_name="advisor_id", label="Advisor (user id)")
    created_after = DayFilter(method="filter_created_after", label="Created on or after (date)")
    created_before = DayFilter(
        method="filter_created_before", label="Created before (date, not included)"
    )
    booked_on = DayFilter(method="filter_booked_on", label="Appointments on (date)")
    q = django_filters.CharFilter(method="filter_search", label="Name, phone or e-mail")

    class Meta:
        model = ServiceOpportunity
        fields = []

    def filter_created_after(self, queryset, name, value):
        return queryset.filter(created_at__gte=start_of_day(value))

    def filter_created_before(self, queryset, name, value):
        return queryset.filter(created_at__lt=start_of_day(value))

    def filter_booked_on(self, queryset, name, value):
        return queryset.filter(
            booked_for__gte=start_of_day(value),
            booked_for__lt=start_of_day(value + timedelta(days=1)),
        )

    def filter_search(self, queryset, name, value):
        return queryset.filter(customer_search(value))
