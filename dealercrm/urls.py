from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from dealercrm import views
from leads import views as lead_views
from leads.api.urls import urlpatterns as leads_api
from leads.urls import public_urlpatterns as public_leads_urls
from routing.api.urls import urlpatterns as routing_api
from service.api.urls import urlpatterns as service_api

# The contract is public so that an integrator can read it before getting an account.
api_docs = [
    path(
        "schema/",
        SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]),
        name="schema",
    ),
    path(
        "docs/",
        # The split view serves Swagger UI's start-up script as a file, not inline. Swagger UI
        # sets inline styles, which this one page allows.
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(
                url_name="api:schema", permission_classes=[AllowAny], authentication_classes=[]
            )
        ),
        name="docs",
    ),
]

urlpatterns = [
    path("", lead_views.home, name="home"),
    path("health/", views.health, name="health"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/unread/", views.notification_unread, name="notification_unread"),
    path("notifications/<int:pk>/", views.notification_open, name="notification_open"),
    path("notifications/read/", views.notifications_read_all, name="notifications_read_all"),
    path("sweeps/", views.sweeps, name="sweeps"),
    path("audit/", views.audit_log, name="audit"),
    path("leads/", include("leads.urls")),
    path("routing/", include("routing.urls")),
    path("routing/", include("leads.routing_urls")),
    path("service/", include("service.urls")),
    path("", include((public_leads_urls, "leads_public"))),
    path("api/v1/", include(([*api_docs, *leads_api, *routing_api, *service_api], "api"))),
    path("admin/", admin.site.urls),
]
