from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from reachkit.admin_scoping import SuperuserOnly, WorkspaceScoped, WorkspaceScopedAdmin
from reachkit.admin_writes import ServiceWrites, form_errors
from reachkit.models import ApiKey, Membership, Workspace
from reachkit.services import api_key_create, api_key_delete, api_key_rename, api_key_revoke
from reachkit.text import plural


class MembershipInline(SuperuserOnly, admin.TabularInline):
    """Who is in a workspace is the tenancy itself: only a superuser grants a seat."""

    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ApiKeyInline(WorkspaceScoped, admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ("name", "masked", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Workspace | None = None) -> bool:
        return False


@admin.register(Workspace)
class WorkspaceAdmin(WorkspaceScopedAdmin):
    """A member sees their own workspaces, read-only; only a superuser creates, renames or
    deletes one (deleting takes every campaign, lead and inbox with it) or seats members."""

    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline, ApiKeyInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Workspace | None = None) -> bool:
        return bool(request.user.is_superuser) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Workspace | None = None) -> bool:
        return bool(request.user.is_superuser) and super().has_delete_permission(request, obj)


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceWrites, WorkspaceScopedAdmin):
    """Settings → Integrations: add a key by name; its value is shown once, on creation.
    Keys are created, renamed, revoked and deleted by reachkit.services."""

    list_display = ["name", "masked", "workspace", "created_at", "last_used_at", "is_active"]
    list_filter = ["workspace"]
    list_select_related = ["workspace"]
    search_fields = ["name", "prefix", "workspace__name"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("workspace", "name")
        return ("workspace", "name", "masked", "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(
        self, request: HttpRequest, obj: ApiKey | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("workspace", "masked", "created_at", "last_used_at", "revoked_at")

    @admin.display(boolean=True, description="active")
    def is_active(self, obj: ApiKey) -> bool:
        return not obj.is_revoked

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ModelForm, change: bool) -> None:
        with form_errors(form):
            if change:
                if "name" in form.changed_data:
                    api_key_rename(api_key=obj, name=obj.name)
                return
            created, raw_key = api_key_create(workspace=obj.workspace, name=obj.name)
        obj.pk = created.pk
        obj.refresh_from_db()
        obj.new_raw_key = raw_key  # for response_add's page, and only there

    def delete_row(self, obj: ApiKey) -> None:
        api_key_delete(api_key=obj)

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        """The new key, on the page that answers the form: never in a message, which the
        default storage keeps in a cookie (signed, not encrypted) until the next page."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Copy your new API key",
            "api_key": obj,
            "raw_key": obj.new_raw_key,
        }
        return TemplateResponse(request, "admin/reachkit/apikey/created.html", context)

    @admin.action(description="Revoke the selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        messages.success(request, f"Revoked {plural(queryset.count(), 'key')}.")
