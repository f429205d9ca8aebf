"""The routing pages that need lead data (see leads.routing_views), under /routing/ beside the
rule pages of the `routing` app."""

from django.urls import path

from leads import routing_views as views

app_name = "lead_routing"

urlpatterns = [
    path("staff/", views.staff, name="staff"),
    path("staff/<int:user_id>/", views.staff_update, name="staff_update"),
    path("staff/hours/", views.hours_update, name="hours"),
    path("preview/", views.preview, name="preview"),
    path("replay/", views.replay, name="replay"),
]
