import django_filters

from campaigns.models import Campaign
from reachkit.api.filters import StrictFilterSet


class CampaignFilterSet(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices)

    class Meta(StrictFilterSet.Meta):
        model = Campaign
        fields = ["status"]
