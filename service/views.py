"""Placeholder: the advisor's pages are being built."""

from django.http import HttpResponse
from django.urls import path


def _todo(request, pk=None):
    return HttpResponse(status=501)


urlpatterns = [
    path("", _todo, name="desk"),
    path("opportunities/", _todo, name="opportunities"),
    path("opportunities/new/", _todo, name="opportunity_new"),
    path("opportunities/<int:pk>/", _todo, name="opportunity"),
    path("opportunities/<int:pk>/loss/", _todo, name="loss_log"),
    path("opportunities/<int:pk>/advance/", _todo, name="advance"),
    path("losses/<int:pk>/parts-arrived/", _todo, name="parts_arrived"),
    path("follow-ups/", _todo, name="recaptures"),
    path("follow-ups/<int:pk>/book/", _todo, name="recapture_book"),
    path("follow-ups/<int:pk>/decline/", _todo, name="recapture_decline"),
]
