"""Filter sets shared by the lead pages and the API."""

from datetime import timedelta

import django_filters
from django.db.models import Q
from django.utils import timezone

from dealercrm.vocabulary import SCORE_BANDS
from leads.models import OPEN_STATUSES, Lead, LeadStatus

# A lead nobody has worked for this long is stale (the first of the sweeps' tiers).
STALE_AFTER = timedelta(days=7)


class LeadFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=LeadStatus.choices)
    owner = django_filters.NumberFilter(field_name="owner_id", label="Owner (user id)")
    unassigned = django_filters.BooleanFilter(
        field_name="owner", lookup_expr="isnull", label="Unassigned (in a pool)"
    )
    source = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    score_band = django_filters.ChoiceFilter(
        choices=[(band, band) for band in SCORE_BANDS], method="filter_score_band"
    )
    stale = django_filters.BooleanFilter(
        method="filter_stale", label=f"Open and not worked for {STALE_AFTER.days} days"
    )

    class Meta:
        model = Lead
        fields = []

    def filter_score_band(self, queryset, name, value):
        low, high = SCORE_BANDS[value]
        return queryset.filter(score__gte=low, score__lte=high)

    def filter_stale(self, queryset, name, value):
        cutoff = timezone.now() - STALE_AFTER
        stale = Q(status__in=OPEN_STATUSES) & (
            Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True, created_at__lt=cutoff)
        )
        return queryset.filter(stale if value else ~stale)
