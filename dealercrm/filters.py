"""Filter sets of the shared core's pages, and the bounded filters every filter set uses for
ids and dates."""

from datetime import UTC, datetime, time

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MaxValueValidator, MinValueValidator

from dealercrm.models import AuditEntry, person_name
from dealercrm.periods import EARLIEST_DAY, LATEST_DAY

# The largest id a table holds (a 64-bit key). A filter refuses a larger number as a bad value
# (400), where the database would fail comparing it (SQLite cannot).
MAX_ID = 2**63 - 1
_DAYS = [MinValueValidator(EARLIEST_DAY), MaxValueValidator(LATEST_DAY)]
_MOMENTS = [
    MinValueValidator(datetime.combine(EARLIEST_DAY, time.min, UTC)),
    MaxValueValidator(datetime.combine(LATEST_DAY, time.max, UTC)),
]


class IdFilter(django_filters.NumberFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class DayFilter(django_filters.DateFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, validators=_DAYS, **kwargs)


class MomentFilter(django_filters.IsoDateTimeFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, validators=_MOMENTS, **kwargs)


class AuditFilter(django_filters.FilterSet):
    """The audit log's filters. `target_type` and `target_id` come from links (a lead's page,
    a rule's page) that show one thing's entries."""

    action = django_filters.ChoiceFilter(choices=AuditEntry.Action.choices, empty_label="Any")
    actor = django_filters.ModelChoiceFilter(
        label="By", queryset=get_user_model().objects.none(), empty_label="Anyone"
    )
    since = DayFilter(field_name="at", lookup_expr="date__gte", label="From")
    until = DayFilter(field_name="at", lookup_expr="date__lte", label="To")
    target_type = django_filters.CharFilter(widget=forms.HiddenInput)
    target_id = IdFilter(widget=forms.HiddenInput)

    class Meta:
        model = AuditEntry
        fields = ["action", "actor", "since", "until", "target_type", "target_id"]

    def __init__(self, *args, actors, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["actor"].queryset = actors
        self.form.fields["actor"].label_from_instance = person_name
