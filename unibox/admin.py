"""The unified inbox in the back office: conversations with their messages.

A person's label (`label_override`) is the one thing edited here, through the same service
as the API (`conversation_update`: it reaches the lead and analytics); messages are read
only. Marking read or unread and deleting go through the services too.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from campaigns.models import Send
from reachkit.admin_scoping import WorkspaceScoped, WorkspaceScopedAdmin
from reachkit.admin_writes import ServiceWrites, form_errors
from unibox import services
from unibox.models import Conversation, Message

MESSAGE_FIELDS = [
    "direction",
    "email_date",
    "from_email",
    "from_name",
    "to_recipients",
    "cc_recipients",
    "subject",
    "text_body",
    "is_read",
    "label",
    "auto_reply_kind",
    "files",
]


class MessageInline(WorkspaceScoped, admin.StackedInline):
    """What came back and what was sent through the API, oldest first; read only."""

    model = Message
    fields = tuple(MESSAGE_FIELDS)
    readonly_fields = tuple(MESSAGE_FIELDS)
    ordering = ["email_date", "created_at"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("attachments")

    @admin.display(description="attachments")
    def files(self, message: Message) -> str:
        return format_html_join(
            ", ",
            "{} ({} bytes, {})",
            ((a.filename, a.size, a.content_type) for a in message.attachments.all()),
        )


@admin.action(description="Mark every message read", permissions=["change"])
def mark_read(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    for conversation in queryset:
        services.conversation_update(conversation=conversation, is_read=True)


@admin.action(description="Mark every message unread", permissions=["change"])
def mark_unread(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Any]
) -> None:
    for conversation in queryset:
        services.conversation_update(conversation=conversation, is_read=False)


@admin.register(Conversation)
class ConversationAdmin(ServiceWrites, WorkspaceScopedAdmin):
    list_display = [
        "__str__",
        "workspace",
        "folder",
        "shown_label",
        "label_override",
        "lead",
        "last_message_at",
    ]
    list_filter = ["folder", "label", "label_override", "workspace"]
    list_select_related = ["workspace", "lead"]
    search_fields = ["subject"]
    ordering = ["-last_message_at", "-pk"]
    actions = [mark_read, mark_unread]
    inlines = [MessageInline]
    fields = (
        "workspace",
        "subject",
        "lead",
        "inbox",
        "folder",
        "label",
        "label_override",
        "campaign_emails",
        "last_message_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = tuple(field for field in fields if field != "label_override")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # conversations come from mail: the sync, or the API's first email

    @admin.display(description="label (effective)")
    def shown_label(self, conversation: Conversation) -> str:
        return conversation.effective_label or "—"

    @admin.display(description="campaign emails the lead got")
    def campaign_emails(self, conversation: Conversation) -> str:
        if conversation.lead_id is None:
            return "—"
        sends = Send.objects.filter(lead_id=conversation.lead_id, status=Send.Status.SENT).order_by(
            "sent_at"
        )
        return (
            format_html_join(
                "", "<div>{} · step {} · {}</div>", ((s.sent_at, s.step, s.subject) for s in sends)
            )
            or "—"
        )

    def save_model(self, request: HttpRequest, obj: Conversation, form: Any, change: bool) -> None:
        if "label_override" not in form.changed_data:
            return
        with form_errors(form):
            services.conversation_update(
                conversation=obj, label_override=form.cleaned_data["label_override"] or None
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        formset.save(commit=False)  # messages are read only: nothing is written

    def delete_row(self, obj: Conversation) -> None:
        services.conversation_delete(conversation=obj)
