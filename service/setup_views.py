"""Placeholder: the service settings and campaign pages are being built."""

from django.http import HttpResponse
from django.urls import path


def _todo(request, pk=None):
    return HttpResponse(status=501)


urlpatterns = [
    path("settings/", _todo, name="settings"),
    path("campaigns/", _todo, name="campaigns"),
]
