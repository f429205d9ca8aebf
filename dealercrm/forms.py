"""Form pieces more than one app's pages share."""

from django import forms


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
