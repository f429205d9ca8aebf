"""Form pieces more than one app's pages share."""

from django import forms

from dealercrm.periods import Period, default_period, period_refusal


class SettingsForm(forms.ModelForm):
    """A one-row settings model on a page, in the groups the page shows (`groups`: a list of
    (title, what to know, [field names])). With `read_only`, every field is shown disabled:
    for someone who may look but not change."""

    groups = []

    def __init__(self, *args, read_only=False, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.disabled = read_only

    def fieldsets(self):
        """(title, what to know, [bound fields]) in the page's order."""
        return [(title, note, [self[name] for name in names]) for title, note, names in self.groups]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    """A report's period, from the query string. Left empty, it is the last 12 months; an end
    alone gets the twelve months up to it, a start alone runs to today."""

    start = forms.DateField(label="From", required=False, widget=DateInput)
    end = forms.DateField(label="To (included)", required=False, widget=DateInput)

    def __init__(self, data=None, *, today, **kwargs):
        super().__init__(data, **kwargs)
        self.today = today
        default = default_period(today)
        self.fields["start"].initial = default.start
        self.fields["end"].initial = default.end

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        end = data.get("end") or self.today
        start = data.get("start")
        if start is None:
            start = default_period(end).start
        refusal = period_refusal(start, end)
        if refusal:
            raise forms.ValidationError(refusal, code="period")
        data["start"], data["end"] = start, end
        return data

    def period(self):
        """The period asked for; the default one when the form is unbound."""
        if not self.is_bound:
            return default_period(self.today)
        return Period(self.cleaned_data["start"], self.cleaned_data["end"])
