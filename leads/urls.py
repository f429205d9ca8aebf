from django.urls import path

from leads import lifecycle_views, report_views, views

app_name = "leads"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("queue/", views.queue, name="queue"),
    path("queue/counters/", views.queue_counters_view, name="queue_counters"),
    path("<int:pk>/log/", views.lead_log_activity, name="log_activity"),
    path("<int:pk>/status/", views.lead_status, name="status"),
    path("<int:pk>/appointment/", views.lead_appointment, name="appointment"),
    path("<int:pk>/reopen/", views.lead_reopen_view, name="reopen"),
    path("<int:pk>/tasks/<int:task_pk>/done/", views.lead_task_complete, name="task_complete"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/return-to-work/", views.lead_return_to_work, name="return_to_work"),
    path("<int:pk>/claim/", views.lead_claim_view, name="claim"),
    path("<int:pk>/reassign/", views.lead_reassign_view, name="reassign"),
    path("board/", views.board, name="board"),
    path("board/reassign/", views.board_reassign, name="board_reassign"),
    path("disqualified/", views.disqualified_audit, name="disqualified"),
    path("follow-up-plan/", views.followup_plan, name="plan"),
    path("comebacks/", lifecycle_views.comebacks, name="comebacks"),
    path("comebacks/<int:pk>/decide/", lifecycle_views.comeback_decide, name="comeback_decide"),
    path("lifecycle-settings/", lifecycle_views.lifecycle_settings, name="lifecycle_settings"),
    path("reports/", report_views.reports, name="reports"),
    path("reports/<slug:key>/", report_views.report, name="report"),
    path("reports/<slug:key>/csv/", report_views.report_csv, name="report_csv"),
]

# Public: the hosted website form of each lead source that has one, outside the staff area.
public_urlpatterns = [
    path("f/<slug:key>/", views.web_form, name="web_form"),
]
