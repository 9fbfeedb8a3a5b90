"""The conversation list's `folder` filter and `search`."""

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from rest_framework.request import Request

from campaigns.models import Send
from reachkit.api.filters import SearchFilter, StrictFilterSet
from unibox.models import Conversation, Message


class ConversationFilterSet(StrictFilterSet):
    folder = django_filters.ChoiceFilter(
        choices=Conversation.Folder.choices,
        help_text="primary: people's replies and threads started through the API; "
        "others: automatic replies and the rest.",
    )

    class Meta(StrictFilterSet.Meta):
        model = Conversation
        fields = ["folder"]


class ConversationSearchFilter(SearchFilter):
    """Each word of `search` anywhere in the conversation's subject, its lead's address, or a
    message's subject, addresses or text (the lead's campaign emails by subject and address).

    Subqueries per conversation of the workspace, never a join that repeats rows; the list
    is scoped to the workspace and read through its `(workspace, folder, last_message_at)`
    indexes first.
    """

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: Any
    ) -> QuerySet[Any]:
        for term in self.get_search_terms(request):
            messages = Message.objects.filter(conversation=OuterRef("pk")).filter(
                Q(subject__icontains=term)
                | Q(from_email__icontains=term)
                | Q(from_name__icontains=term)
                | Q(to_recipients__icontains=term)
                | Q(cc_recipients__icontains=term)
                | Q(text_body__icontains=term)
            )
            sends = Send.objects.filter(lead=OuterRef("lead"), status=Send.Status.SENT).filter(
                Q(subject__icontains=term) | Q(from_email__icontains=term)
            )
            queryset = queryset.filter(
                Q(subject__icontains=term)
                | Q(lead__email__icontains=term)
                | Q(lead__first_name__icontains=term)
                | Q(lead__last_name__icontains=term)
                | Exists(messages)
                | Exists(sends)
            )
        return queryset
