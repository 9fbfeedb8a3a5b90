from leads.views import LeadViewSet
from reachkit.api.routers import Router
from reachkit.api.viewsets import UUID_PATTERN

router = Router()
router.register(
    rf"campaigns/(?P<campaign_id>{UUID_PATTERN})/leads", LeadViewSet, basename="campaign-leads"
)

urlpatterns = router.urls
