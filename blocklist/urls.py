from blocklist.views import BlocklistViewSet
from reachkit.api.routers import Router

router = Router()
router.register("blocklist", BlocklistViewSet, basename="blocklist")

urlpatterns = router.urls
