"""Placeholder: the reports, customers and corrective-action pages are being built."""

from django.http import HttpResponse
from django.urls import path


def _todo(request, pk=None):
    return HttpResponse(status=501)


urlpatterns = [
    path("kpis/", _todo, name="kpis"),
    path("kpis.csv", _todo, name="kpis_csv"),
    path("customers/", _todo, name="customers"),
    path("customers/<int:pk>/", _todo, name="customer"),
    path("customers/<int:pk>/issues/new/", _todo, name="issue_new"),
    path("issues/<int:pk>/resolve/", _todo, name="issue_resolve"),
    path("corrective-actions/", _todo, name="corrective_actions"),
]
