from reachkit.api.routers import Router
from reachkit.api.viewsets import UUID_PATTERN
from unibox.views import AttachmentViewSet, ConversationViewSet

router = Router()
router.register("unibox/conversations", ConversationViewSet, basename="conversation")
router.register(
    f"unibox/conversations/(?P<conversation_id>{UUID_PATTERN})/attachments",
    AttachmentViewSet,
    basename="conversation-attachment",
)

urlpatterns = router.urls
