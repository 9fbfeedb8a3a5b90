import django_filters

from leads.models import Lead
from reachkit.api.filters import StrictBooleanFilter, StrictFilterSet


class LeadFilterSet(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices)
    provider = django_filters.ChoiceFilter(choices=Lead.Provider.choices)
    is_bounced = StrictBooleanFilter()
    is_unsubscribed = StrictBooleanFilter()
    is_blocklisted = StrictBooleanFilter()

    class Meta(StrictFilterSet.Meta):
        model = Lead
        fields = ["status", "provider", "is_bounced", "is_unsubscribed", "is_blocklisted"]
