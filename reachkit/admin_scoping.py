"""The back office's tenancy: a staff user sees and writes only their workspaces' rows.

Every registered ModelAdmin (and every inline) is one of two kinds:

- `WorkspaceScoped`: rows of a workspace. For a user who is not a superuser, the queryset
  (changelist, change/delete/history views, actions, search, autocomplete, the raw-id
  popups, which are changelists too), every foreign-key and many-to-many choice, every
  relation's list filter and the names raw-id inputs show hold only rows of the workspaces
  the user is a member of. A forged id of another workspace's row fails validation like
  any unknown choice.
- `SuperuserOnly`: global rows (workspaces' memberships, users and groups, the periodic
  tasks, caches shared by every workspace): a user who is not a superuser neither sees
  nor writes them. Letting a tenant's staff user edit users, groups or memberships would
  let them grant themselves any workspace, or make themselves superuser.

`restrict_unscoped_admins` makes every other registered admin (Django's own and
third-party apps') superuser-only, so an admin that forgets to choose is closed, not open.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.utils import get_fields_from_path, get_model_from_relation
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.db.models.fields.related import RelatedField
from django.http import HttpRequest

from reachkit.models import Membership, Workspace


def workspace_path(model: type[models.Model]) -> str | None:
    """The lookup from `model` to the Workspace its rows belong to, None for a global model.

    "pk" for Workspace itself, the name of a foreign key to Workspace ("workspace"), or a
    path through the first foreign key whose model has one ("campaign__workspace").
    """
    return _workspace_path(model, seen=frozenset())


def _workspace_path(model: type[models.Model], seen: frozenset[type[models.Model]]) -> str | None:
    if model is Workspace:
        return "pk"
    foreign_keys = [
        field
        for field in model._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and field.related_model is not None
    ]
    for field in foreign_keys:
        if field.related_model is Workspace:
            return field.name
    for field in foreign_keys:
        parent = field.related_model
        assert isinstance(parent, type)
        if parent in seen or parent is model:
            continue
        path = _workspace_path(parent, seen | {model})
        if path is not None and path != "pk":
            return f"{field.name}__{path}"
    return None


def member_workspace_ids(user: Any) -> QuerySet[Membership, Any]:
    return Membership.objects.filter(user_id=user.pk).values("workspace_id")


def for_member(queryset: QuerySet[Any], user: Any, path: str | None = None) -> QuerySet[Any]:
    """The rows of `queryset` that `user` may see: all for a superuser, else their workspaces'.

    `path` leads from the rows to their workspace (default: `workspace_path` of the model).
    """
    if getattr(user, "is_superuser", False):
        return queryset
    path = path or workspace_path(queryset.model)
    if path is None or user.pk is None:
        return queryset.none()
    return queryset.filter(**{f"{path}__in": member_workspace_ids(user)})


class WorkspaceRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A relation's filter (e.g. `workspace`) offering only the related rows the user may see."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin) -> Any:
        if request.user.is_superuser:
            return super().field_choices(field, request, model_admin)
        related = get_model_from_relation(field)
        visible = for_member(related._default_manager.all(), request.user).values("pk")
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False, limit_choices_to={"pk__in": visible}, ordering=ordering
        )


class WorkspaceRawIdWidget(widgets.ForeignKeyRawIdWidget):
    """A raw-id input that names the row it holds only when the user may see it (Django's
    names whatever id was posted, with a link to it). `url_filters` narrow the look-up popup."""

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.url_filters: dict[str, str] = {}

    def url_parameters(self) -> dict[str, str]:
        return {**super().url_parameters(), **self.url_filters}

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        key = self.rel.get_related_field().name
        visible = for_member(self.rel.model._default_manager.using(self.db), self.user)
        try:
            shown = visible.filter(**{key: value}).exists()
        except (ValueError, ValidationError):
            shown = False
        return super().label_and_url_for_value(value) if shown else ("", "")


class WorkspaceScoped(BaseModelAdmin):
    """A ModelAdmin or inline of a per-workspace model (see the module's docstring).

    `workspace_path` leads from a row to its workspace; left None, it is found from the
    model's foreign keys (`workspace_path()`).
    """

    workspace_path: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if (self.workspace_path or workspace_path(self.model)) is None:
            raise ImproperlyConfigured(
                f"{type(self).__name__}: {self.model._meta.label} has no path to a workspace; "
                "make its admin SuperuserOnly instead."
            )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return for_member(super().get_queryset(request), request.user, self.workspace_path)

    def formfield_for_foreignkey(
        self, db_field: "models.ForeignKey[Any, Any]", request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name in self.raw_id_fields and "widget" not in kwargs:
            kwargs["widget"] = WorkspaceRawIdWidget(
                db_field.remote_field, self.admin_site, using=kwargs.get("using"), user=request.user
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_field_queryset(
        self, db: str | None, db_field: "RelatedField[Any, Any]", request: HttpRequest
    ) -> QuerySet[Any]:
        # The choices of every foreign key and many-to-many field, raw-id ones included.
        queryset = super().get_field_queryset(db, db_field, request)
        if queryset is None:
            related = db_field.related_model
            assert isinstance(related, type)
            queryset = related._default_manager.using(db)
        return for_member(queryset, request.user)


class WorkspaceScopedAdmin(WorkspaceScoped, admin.ModelAdmin):
    """A per-workspace model's admin. Its workspace is chosen once, when a row is added:
    moving a row to another workspace would leave it linked to the old one's rows (an inbox
    attached to the old workspace's campaigns)."""

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [self._scoped_filter(entry) for entry in super().get_list_filter(request)]

    def _scoped_filter(self, entry: Any) -> Any:
        if isinstance(entry, str) and get_fields_from_path(self.model, entry)[-1].is_relation:
            return (entry, WorkspaceRelatedFieldListFilter)
        if isinstance(entry, tuple) and entry[1] is admin.RelatedFieldListFilter:
            return (entry[0], WorkspaceRelatedFieldListFilter)
        return entry

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        moves = obj is not None and workspace_path(self.model) == "workspace"
        if moves and "workspace" not in readonly:
            readonly = (*readonly, "workspace")
        return readonly


class SuperuserOnly(BaseModelAdmin):
    """A ModelAdmin or inline of a global model: superusers only (see the module's docstring).

    Each permission is the superuser's AND the admin's own, so an admin that refuses adding
    (say) still refuses it to superusers."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return bool(request.user.is_superuser) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) and super().has_delete_permission(request, obj)


def is_restricted_by_default(model_admin: BaseModelAdmin) -> bool:
    """Whether `restrict_unscoped_admins` closed this admin (it chose no kind itself)."""
    return bool(getattr(model_admin, "restricted_by_default", False))


def restrict_unscoped_admins(site: admin.AdminSite = admin.site) -> None:
    """Re-register every admin that is neither WorkspaceScoped nor SuperuserOnly (Django's
    User and Group, django_celery_beat's schedules, …) as SuperuserOnly."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, WorkspaceScoped | SuperuserOnly):
            continue
        original = type(model_admin)
        restricted = type(
            f"SuperuserOnly{original.__name__}",
            (SuperuserOnly, original),
            {"__module__": original.__module__, "restricted_by_default": True},
        )
        site.unregister(model)
        site.register(model, restricted)
