"""Every admin is workspace-scoped or for superusers only, and each scoped one hides other
workspaces' rows from a staff member of one workspace (the app's own admin tests cover the
forms and actions of each)."""

import re
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import models
from django.utils import timezone

from blocklist.models import BlocklistEntry
from campaigns.models import Campaign, CampaignInbox, Schedule, Send, Sequence, Variant
from inboxes.models import Inbox, WarmupEmail
from leads.models import DomainProvider, Lead
from reachkit.admin_scoping import (
    SuperuserOnly,
    WorkspaceScoped,
    for_member,
    is_restricted_by_default,
    workspace_path,
)
from reachkit.models import ApiKey, Membership, Workspace
from reachkit.webhooks.models import WebhookEndpoint
from tests.blocklist.factories import BlocklistEntryFactory
from tests.campaigns.factories import CampaignFactory
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory
from tests.reachkit.admin_personas import AdminBrowser, filter_links, staff_member
from tests.reachkit.factories import UserFactory, WorkspaceFactory
from tests.unibox.factories import ConversationFactory
from unibox.models import Conversation

OUR_APPS = {"reachkit", "webhooks", "blocklist", "inboxes", "campaigns", "leads", "unibox"}


def registry() -> list[tuple[type[models.Model], admin.ModelAdmin]]:
    return list(admin.site._registry.items())


def url(model: type[models.Model], suffix: str = "") -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{suffix}"


def change_links(page, model: type[models.Model]) -> set[str]:
    """The ids of the rows a changelist links to."""
    assert page.status_code == 200, page.status_code
    prefix = re.escape(url(model))
    return set(re.findall(rf'href="{prefix}([0-9a-f-]+)/change/', page.content.decode()))


def test_every_admin_is_workspace_scoped_or_for_superusers_only():
    for model, model_admin in registry():
        scoped = isinstance(model_admin, WorkspaceScoped)
        superuser_only = isinstance(model_admin, SuperuserOnly)
        assert scoped != superuser_only, f"{model._meta.label}: choose one kind"
        if model._meta.app_label in OUR_APPS:
            # Ours choose in their own code: being closed by default is for other apps' admins.
            assert not is_restricted_by_default(model_admin), model._meta.label
        # A superuser-only admin's pages, its inlines with them, are closed to everyone else.
        for inline in model_admin.inlines if scoped else ():
            assert issubclass(inline, WorkspaceScoped) != issubclass(inline, SuperuserOnly), (
                f"{inline.__name__} (on {model._meta.label}): choose one kind"
            )


def test_djangos_and_other_apps_admins_are_for_superusers_only():
    from django.contrib.auth.models import Group, User
    from django_celery_beat.models import PeriodicTask

    for model in (User, Group, PeriodicTask):
        assert is_restricted_by_default(admin.site.get_model_admin(model)), model


def test_each_model_knows_its_way_to_a_workspace():
    assert workspace_path(Workspace) == "pk"
    assert workspace_path(ApiKey) == "workspace"
    assert workspace_path(Inbox) == "workspace"
    assert workspace_path(Campaign) == "workspace"
    assert workspace_path(Lead) == "workspace"
    assert workspace_path(Schedule) == "campaign__workspace"
    assert workspace_path(CampaignInbox) == "campaign__workspace"
    assert workspace_path(Variant) == "workspace"
    assert workspace_path(Send) == "campaign__workspace"
    assert workspace_path(DomainProvider) is None
    assert workspace_path(Membership) == "workspace"
    assert workspace_path(WarmupEmail) == "sender__workspace"


@dataclass
class Rows:
    """One row of each workspace model in workspace A (the staff member's) and in B."""

    mine: dict[type[models.Model], models.Model]
    theirs: dict[type[models.Model], models.Model]


def rows_of(workspace: Workspace) -> dict[type[models.Model], models.Model]:
    campaign = CampaignFactory(workspace=workspace)
    return {
        Workspace: workspace,
        ApiKey: ApiKey.objects.get(workspace=workspace),
        BlocklistEntry: BlocklistEntryFactory(workspace=workspace),
        Inbox: InboxFactory(workspace=workspace),
        Campaign: campaign,
        Sequence: Sequence.objects.get(campaign=campaign),
        Lead: LeadFactory(campaign=campaign),
        Conversation: ConversationFactory(workspace=workspace),
        WebhookEndpoint: WebhookEndpoint.objects.create(
            workspace=workspace, url="https://hooks.example.com/", secret="whsec_test"
        ),
        WarmupEmail: _warmup_email(workspace),
    }


def _warmup_email(workspace: Workspace) -> WarmupEmail:
    sender, recipient = InboxFactory(workspace=workspace), InboxFactory(workspace=workspace)
    return WarmupEmail.objects.create(
        sender=sender,
        recipient=recipient,
        day=timezone.now().date(),
        seq=1,
        message_id=f"<{sender.pk.hex}@acme.com>",
        due_at=timezone.now(),
    )


@pytest.fixture
def rows(alice, charlie) -> Rows:
    return Rows(mine=rows_of(alice.workspace), theirs=rows_of(charlie.workspace))


@pytest.fixture
def dana(alice) -> AdminBrowser:
    """A staff member of alice's workspace, with every permission, not a superuser."""
    return AdminBrowser(staff_member(alice.workspace))


SCOPED_MODELS = [
    model for model, model_admin in registry() if isinstance(model_admin, WorkspaceScoped)
]
SUPERUSER_MODELS = [
    model for model, model_admin in registry() if isinstance(model_admin, SuperuserOnly)
]


def test_the_matrix_below_has_a_row_of_each_scoped_admins_model(rows):
    assert set(rows.mine) == set(SCOPED_MODELS)


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda model: model._meta.label)
def test_a_staff_member_lists_only_their_workspaces_rows(rows, dana, model):
    shown = change_links(dana.get(url(model)), model)
    assert str(rows.mine[model].pk) in shown
    assert str(rows.theirs[model].pk) not in shown


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda model: model._meta.label)
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_another_workspaces_row_is_not_found_on_its_pages(rows, dana, model, view):
    own = dana.get(url(model, f"{rows.mine[model].pk}/{view}/"))
    theirs = dana.get(url(model, f"{rows.theirs[model].pk}/{view}/"))
    if (model, view) in {(Workspace, "delete"), (Sequence, "delete"), (WarmupEmail, "delete")}:
        # Deleting these is refused outright (a workspace: superusers only; a step: the
        # API's rules; a warmup email: written by warmup alone), before any look-up: the
        # same 403 whoever's row it is.
        assert (own.status_code, theirs.status_code) == (403, 403)
        return
    assert own.status_code == 200
    assert (theirs.status_code, theirs["Location"]) == (302, "/admin/")  # "doesn't exist"


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda model: model._meta.label)
def test_a_superuser_still_lists_every_workspaces_rows(rows, admin_client, model):
    shown = change_links(admin_client.get(url(model)), model)
    assert {str(rows.mine[model].pk), str(rows.theirs[model].pk)} <= shown


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda model: model._meta.label)
def test_a_staff_user_without_a_membership_lists_nothing(rows, model):
    nobody = AdminBrowser(staff_member(username="nobody"))
    assert change_links(nobody.get(url(model)), model) == set()


RELATION_FILTERS = [
    (model, entry)
    for model, model_admin in registry()
    if isinstance(model_admin, WorkspaceScoped)
    for entry in model_admin.list_filter
    if isinstance(entry, str) and model._meta.get_field(entry.split("__")[0]).is_relation
]


def test_the_scoped_admins_filter_by_workspace():
    assert {(model, entry) for model, entry in RELATION_FILTERS} >= {
        (ApiKey, "workspace"),
        (BlocklistEntry, "workspace"),
        (Inbox, "workspace"),
        (Campaign, "workspace"),
    }


@pytest.mark.parametrize(
    ("model", "entry"), RELATION_FILTERS, ids=lambda value: getattr(value, "__name__", value)
)
def test_a_relation_filter_offers_only_the_members_rows(rows, alice, charlie, model, entry):
    second = WorkspaceFactory(name="Second of dana")
    dana = AdminBrowser(staff_member(alice.workspace, second))
    related = model._meta.get_field(entry).related_model
    parameter = f"{entry}__{related._meta.pk.name}__exact"

    offered = filter_links(dana.get(url(model)), parameter)

    assert offered == {str(alice.workspace.pk), str(second.pk)}
    assert str(charlie.workspace.pk) not in offered
    # What a superuser is offered is unchanged: every workspace.
    superuser = AdminBrowser(UserFactory(is_staff=True, is_superuser=True))
    assert str(charlie.workspace.pk) in filter_links(superuser.get(url(model)), parameter)


@pytest.mark.parametrize("model", SUPERUSER_MODELS, ids=lambda model: model._meta.label)
def test_a_staff_user_with_every_permission_cannot_open_a_global_admin(dana, model):
    for page in ("", "add/"):
        assert dana.get(url(model, page)).status_code == 403
    index = dana.get("/admin/").content.decode()
    assert f'href="{url(model)}"' not in index


@pytest.mark.parametrize("model", SUPERUSER_MODELS, ids=lambda model: model._meta.label)
def test_a_superuser_still_opens_a_global_admin(admin_client, model):
    assert admin_client.get(url(model)).status_code == 200


def test_the_staff_member_has_every_permission_django_knows(dana):
    assert dana.user.user_permissions.count() == Permission.objects.count()
    assert dana.user.has_perm("auth.change_user")


def test_scoping_a_global_model_shows_a_staff_member_nothing(alice):
    DomainProvider.objects.create(domain="acme.com", provider="google")
    member = staff_member(alice.workspace)
    assert not for_member(DomainProvider.objects.all(), member).exists()
