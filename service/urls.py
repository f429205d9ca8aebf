"""The aftersales pages, under /service/: the advisor's desk and opportunities (views), the
reports, customers and corrective actions (report_views), and the settings and campaigns
(setup_views)."""

from service.report_views import urlpatterns as report_urlpatterns
from service.setup_views import urlpatterns as setup_urlpatterns
from service.views import urlpatterns as desk_urlpatterns

app_name = "service"

urlpatterns = [*desk_urlpatterns, *report_urlpatterns, *setup_urlpatterns]
