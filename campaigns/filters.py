import django_filters

from campaigns.models import Campaign


class CampaignFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices)

    class Meta:
        model = Campaign
        fields = ["status"]
