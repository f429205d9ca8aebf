from django.urls import path
from rest_framework.routers import SimpleRouter

from leads.api.reports import ReportView
from leads.api.routing import RoutingPreviewView, RoutingStaffViewSet
from leads.api.views import CallsView, LeadViewSet, WebEventsView

router = SimpleRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("routing/staff", RoutingStaffViewSet, basename="routing-staff")

urlpatterns = [
    *router.urls,
    path("events/", WebEventsView.as_view(), name="web-events"),
    path("calls/", CallsView.as_view(), name="calls"),
    path("routing/preview/", RoutingPreviewView.as_view(), name="routing-preview"),
    path("reports/<slug:report>/", ReportView.as_view(), name="report"),
]
