"""The back office writes only through services (reachkit/admin_writes.py)."""

from django.contrib import admin
from django.contrib.auth.models import User
from django.test import RequestFactory

from campaigns.services import InvalidMergeTag
from reachkit.admin_scoping import WorkspaceScoped
from reachkit.admin_writes import ServiceWrites, error_messages
from reachkit.errors import NotFound, ValidationFailed
from reachkit.models import Workspace

# Their writes are a superuser's (workspaces and their members), checked by the model alone.
SUPERUSER_WRITES = {Workspace}


def _writes(model_admin: admin.ModelAdmin) -> bool:
    """Whether even a superuser may add, change or delete through this admin."""
    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    return (
        model_admin.has_add_permission(request)
        or model_admin.has_change_permission(request)
        or model_admin.has_delete_permission(request)
    )


def test_every_admin_that_writes_a_workspaces_rows_goes_through_services():
    for model, model_admin in admin.site._registry.items():
        scoped = isinstance(model_admin, WorkspaceScoped) and model not in SUPERUSER_WRITES
        if scoped and _writes(model_admin):
            assert isinstance(model_admin, ServiceWrites), model._meta.label


def test_a_refusals_details_become_messages_by_field_path():
    nested = ValidationFailed(
        details={
            "default_window": {"end": ["The end must be after the start."]},
            "days": {"monday": {"end": ["Too early."]}},
        }
    )
    assert error_messages(nested) == {
        "default_window.end": ["The end must be after the start."],
        "days.monday.end": ["Too early."],
    }
    tag = InvalidMergeTag(details={"subject": {"offset": 3, "message": "Unclosed merge tag"}})
    assert error_messages(tag) == {"subject": ["Unclosed merge tag (at character 3)."]}
    assert error_messages(NotFound()) == {"": ["Not found."]}
