import django_filters

from inboxes.models import Inbox

BOOLEAN_CHOICES = [("true", "true"), ("false", "false")]


class InboxFilterSet(django_filters.FilterSet):
    provider = django_filters.ChoiceFilter(choices=Inbox.Provider.choices)
    connection_status = django_filters.ChoiceFilter(choices=Inbox.ConnectionStatus.choices)
    # "true" or "false"; anything else is a 422, not a silently ignored filter.
    is_active = django_filters.TypedChoiceFilter(
        choices=BOOLEAN_CHOICES, coerce=lambda value: value == "true"
    )

    class Meta:
        model = Inbox
        fields = ["provider", "connection_status", "is_active"]
