from campaigns.api.views import CAMPAIGN_PREFIX, CampaignViewSet, SequenceViewSet, VariantViewSet
from reachkit.api.routers import Router

router = Router()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register(f"{CAMPAIGN_PREFIX}/sequences", SequenceViewSet, basename="campaign-sequence")
router.register(f"{CAMPAIGN_PREFIX}/variants", VariantViewSet, basename="campaign-variant")

urlpatterns = router.urls
