from django.urls import path
from rest_framework.routers import SimpleRouter

from service.api.kpis import urlpatterns as kpi_urlpatterns
from service.api.views import LossPartsArrivedView, OpportunityViewSet

router = SimpleRouter()
router.register("service/opportunities", OpportunityViewSet, basename="service-opportunity")

urlpatterns = [
    *kpi_urlpatterns,
    *router.urls,
    path(
        "service/losses/<int:pk>/parts-arrived/",
        LossPartsArrivedView.as_view(),
        name="service-loss-parts-arrived",
    ),
]
