from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from inboxes import services, warmup
from inboxes.connection import INVALID_HOST, ServerSettings, is_valid_host
from inboxes.models import Inbox, WarmupEmail
from inboxes.services import CONNECTION_FIELDS, EDITABLE_FIELDS
from reachkit.admin_scoping import WorkspaceScopedAdmin
from reachkit.admin_writes import ServiceWrites, form_errors
from reachkit.emails import is_valid_email
from reachkit.text import plural, validate_header_text

PASSWORD_FIELDS = ("smtp_password", "imap_password")
# What goes into the headers of every email the inbox sends (From, Reply-To).
HEADER_FIELDS = ("email", "first_name", "last_name", "reply_to")
SERVER_PARTS = ("host", "port", "username", "password", "security")
MAX_PORT = 65_535


class InboxAdminForm(forms.ModelForm):
    """Passwords are write-only: never rendered; left blank, the stored one is kept.

    Names and addresses follow the API's rules: they go into mail headers.
    """

    smtp_password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to keep the stored password.",
    )
    imap_password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to keep the stored password.",
    )

    class Meta:
        model = Inbox
        exclude: list[str] = []  # the admin's fieldsets choose what is shown

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in PASSWORD_FIELDS:
            # Not even the stored value as an initial: it would reach the page's HTML.
            self.initial[name] = ""
        for name in HEADER_FIELDS:
            if name in self.fields:
                self.fields[name].validators.append(validate_header_text)
        for name in CONNECTION_FIELDS:
            # A new inbox logs in with all of them, as POST /inboxes requires them.
            if name in self.fields and self.instance._state.adding:
                self.fields[name].required = True

    def clean_email(self) -> str:
        email = (self.cleaned_data.get("email") or "").strip().lower()
        if not is_valid_email(email):
            raise forms.ValidationError("Enter a valid email address.")
        return email

    def clean_reply_to(self) -> str:
        reply_to: str = self.cleaned_data.get("reply_to") or ""
        if reply_to and not is_valid_email(reply_to):
            raise forms.ValidationError("Enter a valid email address.")
        return reply_to

    def _host(self, name: str) -> str:
        host = (self.cleaned_data.get(name) or "").strip().lower()
        if host and not is_valid_host(host):
            raise forms.ValidationError(INVALID_HOST)
        return host

    def clean_smtp_host(self) -> str:
        return self._host("smtp_host")

    def clean_imap_host(self) -> str:
        return self._host("imap_host")

    def _port(self, name: str) -> int | None:
        port: int | None = self.cleaned_data.get(name)
        if port is not None and not 1 <= port <= MAX_PORT:
            raise forms.ValidationError(f"Enter a port from 1 to {MAX_PORT}.")
        return port

    def clean_smtp_port(self) -> int | None:
        return self._port("smtp_port")

    def clean_imap_port(self) -> int | None:
        return self._port("imap_port")

    def server_settings(self, protocol: str) -> ServerSettings:
        return ServerSettings(
            **{part: self.cleaned_data[f"{protocol}_{part}"] for part in SERVER_PARTS}
        )

    def _password(self, name: str) -> str:
        value: str = self.cleaned_data.get(name) or ""
        return value if value else getattr(self.instance, name, "")

    def clean_smtp_password(self) -> str:
        return self._password("smtp_password")

    def clean_imap_password(self) -> str:
        return self._password("imap_password")

    @property
    def changed_data(self) -> list[str]:
        changed = super().changed_data
        # A blank password field means "keep": not a change.
        return [name for name in changed if name not in PASSWORD_FIELDS or self.data.get(name)]


@admin.register(Inbox)
class InboxAdmin(ServiceWrites, WorkspaceScopedAdmin):
    """Inboxes are added by inbox_create (as POST /inboxes: a connection check queued), their
    settings changed by inbox_update (as PATCH /inboxes/:id), their address and servers by
    inbox_connection_update (checked anew), and removed by inbox_delete."""

    form = InboxAdminForm
    list_display = [
        "email",
        "workspace",
        "connection_status",
        "provider",
        "daily_campaign_limit",
        "daily_warmup_limit",
        "is_warming",
        "is_active",
        "connection_checked_at",
    ]
    list_filter = [
        "connection_status",
        "provider",
        "is_active",
        "is_warming",
        "connection_type",
        "workspace",
    ]
    search_fields = ["email", "first_name", "last_name", "domain"]
    list_select_related = ["workspace"]
    # Also the order of the inbox choices and look-ups (autocomplete pages need one).
    ordering = ["email"]
    actions = ["test_connection"]
    readonly_fields = [
        "domain",
        "connection_type",
        "provider",
        "connection_status",
        "connection_error",
        "connection_checked_at",
        "sent_folder",
        "junk_folder",
        "created_at",
        "updated_at",
        "warmup_status",
        "warmup_today_target",
        "warmup_sent",
        "warmup_health",
    ]
    fieldsets = [
        (None, {"fields": ["workspace", "email", "first_name", "last_name", "domain"]}),
        (
            "Sending",
            {
                "fields": [
                    "is_active",
                    "is_warming",
                    "daily_campaign_limit",
                    "daily_warmup_limit",
                    "reply_to",
                    "signature",
                ]
            },
        ),
        (
            "Warmup (the last 7 days)",
            {
                "fields": [
                    "warmup_status",
                    "warmup_today_target",
                    "warmup_sent",
                    "warmup_health",
                ]
            },
        ),
        (
            "Connection",
            {
                "fields": [
                    "connection_type",
                    "provider",
                    "connection_status",
                    "connection_error",
                    "connection_checked_at",
                    "sent_folder",
                    "junk_folder",
                ]
            },
        ),
        (
            "SMTP",
            {
                "fields": [
                    "smtp_host",
                    "smtp_port",
                    "smtp_username",
                    "smtp_password",
                    "smtp_security",
                ]
            },
        ),
        (
            "IMAP",
            {
                "fields": [
                    "imap_host",
                    "imap_port",
                    "imap_username",
                    "imap_password",
                    "imap_security",
                ]
            },
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(
        self, request: HttpRequest, obj: Inbox, form: forms.ModelForm, change: bool
    ) -> None:
        assert isinstance(form, InboxAdminForm)
        data = form.cleaned_data
        settings = {name: data[name] for name in EDITABLE_FIELDS if name in data}
        with form_errors(form):
            if not change:
                created = services.inbox_create(
                    workspace=obj.workspace,
                    email=data["email"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    smtp=form.server_settings("smtp"),
                    imap=form.server_settings("imap"),
                )
                services.inbox_update(inbox=created, changes=settings)
                obj.pk = created.pk
                obj.refresh_from_db()
                return
            changed = set(form.changed_data)
            services.inbox_update(
                inbox=obj, changes={name: settings[name] for name in settings if name in changed}
            )
            services.inbox_connection_update(
                inbox=obj,
                changes={
                    name: data[name] for name in ("email", *CONNECTION_FIELDS) if name in changed
                },
            )

    def delete_row(self, obj: Inbox) -> None:
        services.inbox_delete(inbox=obj)

    @admin.action(description="Test the connection of the selected inboxes")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Inbox]) -> None:
        count = 0
        for inbox in queryset:
            services.inbox_request_check(inbox=inbox)
            count += 1
        messages.success(
            request,
            f"Connection check queued for {plural(count, 'inbox', 'inboxes')}; refresh to see "
            "the result.",
        )

    # --- warmup, read from the same stats as GET /inboxes/:id/warmup/stats ------------------

    def _warmup(self, obj: Inbox) -> dict[str, Any]:
        if obj.pk is None:
            return {}
        cached = getattr(obj, "_warmup_stats", None)
        if cached is None:
            cached = warmup.warmup_stats(obj, timezone.now())
            obj._warmup_stats = cached  # type: ignore[attr-defined]
        return cached

    @admin.display(description="Status")
    def warmup_status(self, obj: Inbox) -> str:
        stats = self._warmup(obj)
        if not stats:
            return "-"
        reason = stats["paused_reason"]
        return f"{stats['status']}: {reason}" if reason else stats["status"]

    @admin.display(description="Today's target")
    def warmup_today_target(self, obj: Inbox) -> str:
        stats = self._warmup(obj)
        if not stats:
            return "-"
        return f"{stats['today_target']} (ramp {stats['ramp_up_progress']} %)"

    @admin.display(description="Sent / received / saved from spam")
    def warmup_sent(self, obj: Inbox) -> str:
        stats = self._warmup(obj)
        if not stats:
            return "-"
        return f"{stats['sent']} / {stats['received']} / {stats['saved_from_spam']}"

    @admin.display(description="Health")
    def warmup_health(self, obj: Inbox) -> str:
        stats = self._warmup(obj)
        return str(stats["health_score"]) if stats else "-"


@admin.register(WarmupEmail)
class WarmupEmailAdmin(WorkspaceScopedAdmin):
    """Warmup emails as the passes wrote them (inboxes/warmup_passes.py): read only, of the
    staff user's workspaces' senders."""

    list_display = [
        "subject",
        "sender",
        "recipient",
        "kind",
        "status",
        "due_at",
        "sent_at",
        "placement",
        "saved_from_spam",
        "received_at",
    ]
    list_filter = ["status", "kind", "placement", "saved_from_spam"]
    list_select_related = ["sender", "recipient"]
    search_fields = ["subject", "message_id", "sender__email", "recipient__email"]
    ordering = ["-due_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
