from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from blocklist.models import BlocklistEntry
from blocklist.services import INVALID_ENTRY, blocklist_add, blocklist_remove
from reachkit.admin_scoping import WorkspaceScopedAdmin
from reachkit.admin_writes import ServiceWrites, form_errors, refuse


class BlocklistEntryAddForm(forms.ModelForm):
    """The entry as typed: blocklist_add normalises it, finds its kind and refuses a duplicate
    (the model's own checks would see the raw text, not the entry)."""

    entry = forms.CharField(label="Email or domain", max_length=320, help_text=INVALID_ENTRY)

    class Meta:
        model = BlocklistEntry
        fields = ["workspace"]


@admin.register(BlocklistEntry)
class BlocklistEntryAdmin(ServiceWrites, WorkspaceScopedAdmin):
    """Entries are added by blocklist_add and removed by blocklist_remove; an entry is not
    edited, as in the API."""

    list_display = ["value", "kind", "workspace", "created_at"]
    list_filter = ["kind", "workspace"]
    search_fields = ["value"]
    list_select_related = ["workspace"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = BlocklistEntryAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: BlocklistEntry | None = None) -> Any:
        if obj is None:
            return ["workspace", "entry"]
        return ["workspace", "value", "kind", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: BlocklistEntry | None = None) -> Any:
        return [] if obj is None else ["workspace", "value", "kind", "created_at"]

    def save_model(
        self, request: HttpRequest, obj: BlocklistEntry, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            return  # nothing on its page is editable
        with form_errors(form, {"email": "entry"}):
            entry, created = blocklist_add(workspace=obj.workspace, raw=form.cleaned_data["entry"])
        if not created:
            refuse(form, "entry", f"{entry.value} is already blocked in this workspace.")
        obj.pk = entry.pk
        obj.refresh_from_db()

    def delete_row(self, obj: BlocklistEntry) -> None:
        blocklist_remove(entry=obj)
