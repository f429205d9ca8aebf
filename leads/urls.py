from django.urls import path

from leads import views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/return-to-work/", views.lead_return_to_work, name="return_to_work"),
    path("<int:pk>/claim/", views.lead_claim_view, name="claim"),
    path("<int:pk>/reassign/", views.lead_reassign_view, name="reassign"),
    path("intake-audit/", views.intake_audit, name="intake_audit"),
]

# Public: the hosted website form of each lead source that has one, outside the staff area.
public_urlpatterns = [
    path("f/<slug:key>/", views.web_form, name="web_form"),
]
