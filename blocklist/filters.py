import django_filters

from blocklist.models import BlocklistEntry


class BlocklistEntryFilterSet(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(field_name="kind", choices=BlocklistEntry.Kind.choices)

    class Meta:
        model = BlocklistEntry
        fields = ["type"]
