from django.urls import include, path

from bench.baseline.views import BaselineLeadCreate

urlpatterns = [
    path("bench/baseline/leads/", BaselineLeadCreate.as_view(), name="bench-baseline-leads"),
    path("", include("dealercrm.urls")),
]
