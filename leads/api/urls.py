from django.urls import path
from rest_framework.routers import SimpleRouter

from leads.api.views import CallsView, LeadViewSet, WebEventsView

router = SimpleRouter()
router.register("leads", LeadViewSet, basename="lead")

urlpatterns = [
    *router.urls,
    path("events/", WebEventsView.as_view(), name="web-events"),
    path("calls/", CallsView.as_view(), name="calls"),
]
