import django_filters

from reachkit.api.filters import StrictBooleanFilter, StrictFilterSet
from reachkit.webhooks.models import Delivery, WebhookEndpoint


class WebhookFilterSet(StrictFilterSet):
    is_active = StrictBooleanFilter()

    class Meta(StrictFilterSet.Meta):
        model = WebhookEndpoint
        fields = ["is_active"]


class DeliveryFilterSet(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=Delivery.Status.choices)

    class Meta(StrictFilterSet.Meta):
        model = Delivery
        fields = ["status"]
