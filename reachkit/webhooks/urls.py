from reachkit.api.routers import Router
from reachkit.api.viewsets import UUID_PATTERN
from reachkit.webhooks.views import EventViewSet, WebhookDeliveryViewSet, WebhookViewSet

router = Router()
router.register("webhooks", WebhookViewSet, basename="webhooks")
router.register(
    rf"webhooks/(?P<webhook_id>{UUID_PATTERN})/deliveries",
    WebhookDeliveryViewSet,
    basename="webhook-deliveries",
)
router.register("events", EventViewSet, basename="events")

urlpatterns = router.urls
