from django.urls import path

from routing import views

app_name = "routing"

urlpatterns = [
    path("", views.rule_list, name="rules"),
    path("new/", views.rule_new, name="rule_new"),
    path("<int:pk>/", views.rule_edit, name="rule_edit"),
    path("<int:pk>/active/", views.rule_toggle, name="rule_toggle"),
    path("<int:pk>/move/", views.rule_reorder, name="rule_move"),
    path("<int:pk>/delete/", views.rule_remove, name="rule_delete"),
]
