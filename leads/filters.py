"""Filter sets shared by the lead pages and the API."""

import django_filters
from django.db.models import Exists, OuterRef, Q

from dealercrm.filters import IdFilter, MomentFilter
from dealercrm.models import Team
from dealercrm.vocabulary import SCORE_BANDS
from leads.models import OPEN_STATUSES, Lead, LeadEvent, LeadStatus
from routing.forms import PersonChoiceField


class AnyYesNo(django_filters.widgets.BooleanWidget):
    """A yes/no filter whose empty choice reads "Any", not "Unknown"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]


class LeadFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=LeadStatus.choices)
    owner = IdFilter(field_name="owner_id", label="Owner (user id)")
    unassigned = django_filters.BooleanFilter(
        field_name="owner", lookup_expr="isnull", label="Unassigned (in a pool)", widget=AnyYesNo
    )
    source = django_filters.CharFilter()
    created_after = MomentFilter(field_name="created_at", lookup_expr="gte")
    created_before = MomentFilter(field_name="created_at", lookup_expr="lt")
    score_band = django_filters.ChoiceFilter(
        choices=[(band, band) for band in SCORE_BANDS],
        method="filter_score_band",
        empty_label="Any",
    )
    stale = django_filters.BooleanFilter(
        method="filter_stale", label="Quiet: no CRM activity for a stale tier", widget=AnyYesNo
    )
    quiet_days = django_filters.NumberFilter(
        field_name="stale_tier", lookup_expr="gte", label="Quiet for at least (days)"
    )
    resurfaced = django_filters.BooleanFilter(
        method="filter_resurfaced", label="The customer came back by themselves", widget=AnyYesNo
    )
    q = django_filters.CharFilter(method="filter_search", label="Name, phone or e-mail")

    class Meta:
        model = Lead
        fields = []

    def filter_score_band(self, queryset, name, value):
        low, high = SCORE_BANDS[value]
        return queryset.filter(score__gte=low, score__lte=high)

    def filter_stale(self, queryset, name, value):
        return queryset.filter(stale_leads() if value else ~stale_leads())

    def filter_resurfaced(self, queryset, name, value):
        return queryset.filter(resurfaced_at__isnull=not value)

    def filter_search(self, queryset, name, value):
        return queryset.filter(customer_search(value))


def stale_leads():
    """Open leads the stale sweep flagged as quiet (a tier's days without CRM activity); any
    activity clears the flag."""
    return Q(stale_tier__gt=0)


def customer_search(text):
    """Leads whose customer matches `text`: every word in the first or last name, or the
    e-mail, or — when it has at least four digits — the phone number (stored in E.164, so
    the digits are matched whatever way they were typed)."""
    text = text.strip()
    if not text:
        return Q()
    words = Q()
    for word in text.split():
        words &= Q(customer__first_name__icontains=word) | Q(customer__last_name__icontains=word)
    match = words | Q(customer__email__icontains=text)
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 4:
        match |= Q(customer__phone__contains=digits)
    return match


class QueueFilter(LeadFilter):
    """The queue's filters: the person's own open leads, so no owner, pool or dates."""

    status = django_filters.ChoiceFilter(
        choices=[(status.value, status.label) for status in LeadStatus if status in OPEN_STATUSES],
        empty_label="Any open",
    )

    owner = unassigned = created_after = created_before = None


class PersonFilter(django_filters.ModelChoiceFilter):
    field_class = PersonChoiceField


class BoardFilter(LeadFilter):
    """The team board's filters: every lead, by person and team too."""

    owner = PersonFilter(queryset=None, field_name="owner", label="Owner", empty_label="Anyone")
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), empty_label="Any team")
    status = django_filters.ChoiceFilter(choices=LeadStatus.choices, empty_label="Any status")
    created_after = created_before = None

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].queryset = people


class DisqualifiedFilter(django_filters.FilterSet):
    closed_by = django_filters.ChoiceFilter(
        label="Disqualified by",
        choices=[("intake", "Intake (automatic)"), ("people", "People")],
        empty_label="Anyone",
        method="filter_closed_by",
    )
    reason = django_filters.ModelChoiceFilter(
        field_name="close_reason", queryset=None, label="Reason", empty_label="Any reason"
    )
    source = django_filters.CharFilter()

    class Meta:
        model = Lead
        fields = []

    def __init__(self, *args, reasons, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["reason"].queryset = reasons

    def filter_closed_by(self, queryset, name, value):
        by = Q(actor__isnull=False)  # people
        if value == "intake":
            by = Q(actor__isnull=True, actor_label="intake")
        return queryset.filter(
            Exists(
                LeadEvent.objects.filter(by, lead=OuterRef("pk"), to_status=LeadStatus.DISQUALIFIED)
            )
        )
