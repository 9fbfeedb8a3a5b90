import django_filters

from leads.models import Lead

_BOOLEAN_CHOICES = [("true", "true"), ("false", "false")]


class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """`true` or `false`; anything else is a 422 (django-filter's own BooleanFilter ignores it)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(choices=_BOOLEAN_CHOICES, coerce=lambda value: value == "true", **kwargs)


class LeadFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices)
    provider = django_filters.ChoiceFilter(choices=Lead.Provider.choices)
    is_bounced = StrictBooleanFilter()
    is_unsubscribed = StrictBooleanFilter()
    is_blocklisted = StrictBooleanFilter()

    class Meta:
        model = Lead
        fields = ["status", "provider", "is_bounced", "is_unsubscribed", "is_blocklisted"]
