from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from reachkit.admin_scoping import SuperuserOnly, WorkspaceScopedAdmin
from reachkit.admin_writes import ServiceWrites, form_errors
from reachkit.webhooks.models import Delivery, Event, EventType, WebhookEndpoint
from reachkit.webhooks.services import endpoint_create, endpoint_delete, endpoint_update


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None checked: every type.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["workspace", "url", "description", "event_types", "is_active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceWrites, WorkspaceScopedAdmin):
    """Written through the services the API calls; the secret is shown once, on adding."""

    form = WebhookEndpointForm
    list_display = ["url", "workspace", "is_active", "disabled_at", "last_success_at", "created_at"]
    list_filter = ["is_active", "workspace"]
    search_fields = ["url", "description"]
    list_select_related = ["workspace"]
    readonly_fields = [
        "disabled_reason",
        "disabled_at",
        "failing_since",
        "last_success_at",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        with form_errors(form):
            if change:
                endpoint_update(
                    endpoint=obj,
                    changes={
                        key: data[key]
                        for key in ("url", "description", "event_types", "is_active")
                        if key in form.changed_data
                    },
                )
                return
            endpoint, secret = endpoint_create(
                workspace=data["workspace"],
                url=data["url"],
                event_types=list(data["event_types"]),
                description=data["description"],
                is_active=data["is_active"],
            )
        obj.pk = endpoint.pk
        obj.refresh_from_db()
        self.message_user(
            request,
            f"The signing secret of {endpoint.url}, shown this once: {secret}",
            messages.WARNING,
        )

    def delete_row(self, obj: WebhookEndpoint) -> None:
        endpoint_delete(endpoint=obj)


class ReadOnly(SuperuserOnly, admin.ModelAdmin):
    """Events and deliveries, for the operator's eyes (a workspace reads its own through the
    API): nothing to add, change or delete by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ["event_type", "endpoint", "status", "attempt", "response_code", "created_at"]
    list_filter = ["status"]
    list_select_related = ["endpoint"]
    raw_id_fields = ["endpoint", "event"]


@admin.register(Event)
class EventAdmin(ReadOnly):
    list_display = ["type", "id", "workspace", "created_at"]
    list_filter = ["type"]
    list_select_related = ["workspace"]
    search_fields = ["id"]
