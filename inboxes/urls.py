from inboxes.views import InboxViewSet
from reachkit.api.routers import Router

router = Router()
router.register("inboxes", InboxViewSet, basename="inboxes")

urlpatterns = router.urls
