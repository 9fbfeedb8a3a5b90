from django.contrib import admin

from blocklist.models import BlocklistEntry
from reachkit.admin_scoping import WorkspaceScopedAdmin


@admin.register(BlocklistEntry)
class BlocklistEntryAdmin(WorkspaceScopedAdmin):
    list_display = ["value", "kind", "workspace", "created_at"]
    list_filter = ["kind", "workspace"]
    search_fields = ["value"]
    list_select_related = ["workspace"]
    readonly_fields = ["created_at"]
