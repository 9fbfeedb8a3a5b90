import django_filters

from inboxes.models import Inbox
from reachkit.api.filters import StrictBooleanFilter, StrictFilterSet


class InboxFilterSet(StrictFilterSet):
    provider = django_filters.ChoiceFilter(choices=Inbox.Provider.choices)
    connection_status = django_filters.ChoiceFilter(choices=Inbox.ConnectionStatus.choices)
    is_active = StrictBooleanFilter()

    class Meta(StrictFilterSet.Meta):
        model = Inbox
        fields = ["provider", "connection_status", "is_active"]
