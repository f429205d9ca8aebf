from rest_framework.routers import SimpleRouter

from routing.api.views import RuleViewSet

router = SimpleRouter()
router.register("routing/rules", RuleViewSet, basename="routing-rule")

urlpatterns = router.urls
