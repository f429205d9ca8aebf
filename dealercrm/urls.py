from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="leads:list"), name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("leads/", include("leads.urls")),
    path("admin/", admin.site.urls),
]
