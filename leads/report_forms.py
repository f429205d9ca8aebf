"""The filters every lead report takes: the period, and a source, a team or a person."""

from django import forms
from django.contrib.auth import get_user_model

from dealercrm.forms import PeriodForm
from dealercrm.models import LEAD_OWNER_ROLES, Team, person_name
from leads.models import LeadSource
from leads.reports.base import Filters


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return person_name(user) + ("" if user.is_active else " (left)")


def report_people():
    """Everyone who has worked sales leads, people who left included: their leads stay in the
    figures of the periods they worked."""
    return (
        get_user_model()
        .objects.filter(staff__role__in=sorted(LEAD_OWNER_ROLES))
        .order_by("first_name", "last_name", "username")
    )


class ReportFilterForm(PeriodForm):
    source = forms.ChoiceField(label="Source", required=False)
    team = forms.ModelChoiceField(
        label="Team",
        required=False,
        empty_label="Every team",
        queryset=Team.objects.exclude(kind=Team.Kind.SERVICE),
    )
    person = PersonChoiceField(
        label="Person", required=False, empty_label="Everyone", queryset=report_people()
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [("", "Every source")] + list(
            LeadSource.objects.order_by("name").values_list("key", "name")
        )

    def filters(self):
        """The leads the report counts; the default period when the form is unbound."""
        data = self.cleaned_data if self.is_bound else {}
        return Filters(
            period=self.period(),
            source=data.get("source") or "",
            team=data.get("team"),
            person=data.get("person"),
        )
