import django_filters

from blocklist.models import BlocklistEntry
from reachkit.api.filters import StrictFilterSet


class BlocklistEntryFilterSet(StrictFilterSet):
    type = django_filters.ChoiceFilter(field_name="kind", choices=BlocklistEntry.Kind.choices)

    class Meta(StrictFilterSet.Meta):
        model = BlocklistEntry
        fields = ["type"]
