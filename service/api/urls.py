from service.api.kpis import urlpatterns as kpi_urlpatterns

urlpatterns = [*kpi_urlpatterns]
