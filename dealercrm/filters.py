"""Filter sets of the shared core's pages."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model

from dealercrm.models import AuditEntry, person_name


class AuditFilter(django_filters.FilterSet):
    """The audit log's filters. `target_type` and `target_id` come from links (a lead's page,
    a rule's page) that show one thing's entries."""

    action = django_filters.ChoiceFilter(choices=AuditEntry.Action.choices, empty_label="Any")
    actor = django_filters.ModelChoiceFilter(
        label="By", queryset=get_user_model().objects.none(), empty_label="Anyone"
    )
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label="From")
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label="To")
    target_type = django_filters.CharFilter(widget=forms.HiddenInput)
    target_id = django_filters.NumberFilter(widget=forms.HiddenInput)

    class Meta:
        model = AuditEntry
        fields = ["action", "actor", "since", "until", "target_type", "target_id"]

    def __init__(self, *args, actors, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["actor"].queryset = actors
        self.form.fields["actor"].label_from_instance = person_name
