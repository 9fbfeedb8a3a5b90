"""The back office writes through the services, as the API does, and shows their refusals
as form errors.

A ModelAdmin that inherits `ServiceWrites` saves in its `save_model`, `save_formset` and
delete hooks by calling services inside `form_errors(form)` (or `formset_errors` for what
concerns a formset as a whole, such as a deleted row). When a service refuses (a
`DomainError`), the page is answered in two passes:

1. The first pass, in the admin's transaction, stops at the refusal: everything it wrote
   is rolled back.
2. The page is validated again, from the same POST, with the refusal replayed as the
   refused form's errors (mapped to its fields): it is shown again, nothing is saved.

So a rule lives only in its service, and the admin cannot drift from the API.
"""

import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.forms.formsets import BaseFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from reachkit.errors import DomainError


@dataclass(frozen=True)
class Refusal:
    """What a service refused, addressed to one form of the page.

    `prefix` is the refused form's (None: the page's own form) or, with `whole_formset`,
    the formset's. `errors` maps a form field to messages (None: not one field's).
    """

    prefix: str | None
    errors: Mapping[str | None, list[str]]
    whole_formset: bool = False


class Refused(Exception):
    """Raised from a save hook: ends the first pass (see the module's docstring)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.errors)
        self.refusal = refusal


def error_messages(error: DomainError) -> dict[str, list[str]]:
    """A DomainError's `details` as a dotted field path → messages (`{"days.monday.end":
    [...]}`); a merge-tag error's `{"offset", "message"}` becomes one message naming the
    character. The error's own message under "" when it has no details."""
    flat: dict[str, list[str]] = {}

    def walk(path: str, value: Any) -> None:
        if isinstance(value, Mapping) and "message" in value:
            offset = value.get("offset")
            where = f" (at character {offset})" if isinstance(offset, int) else ""
            flat.setdefault(path, []).append(f"{value['message']}{where}.")
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{path}.{key}" if path else str(key), item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(path, item)
        else:
            flat.setdefault(path, []).append(str(value))

    walk("", error.details)
    return flat or {"": [error.message]}


def _on_fields(
    error: DomainError, form_fields: Mapping[str, Any], fields: Mapping[str, str | None]
) -> dict[str | None, list[str]]:
    """The error's messages on the form's fields: a path (or its longest leading part) named
    in `fields` or a field of the form takes them; the rest of the path heads the message."""
    placed: dict[str | None, list[str]] = {}
    for path, messages_ in error_messages(error).items():
        parts = path.split(".") if path else []
        field: str | None = None
        rest = parts
        for length in range(len(parts), 0, -1):
            head = ".".join(parts[:length])
            if head in fields or head in form_fields:
                field = fields.get(head, head)
                rest = parts[length:]
                break
        label = f"{'.'.join(rest)}: " if rest else ""
        placed.setdefault(field, []).extend(f"{label}{message}" for message in messages_)
    return placed


@contextmanager
def form_errors(
    form: forms.BaseForm, fields: Mapping[str, str | None] | None = None
) -> Iterator[None]:
    """Run service calls for `form`: a DomainError becomes its errors. `fields` maps the
    service's field names (or dotted paths) to the form's where they differ."""
    try:
        yield
    except DomainError as error:
        errors = _on_fields(error, form.fields, fields or {})
        raise Refused(Refusal(prefix=form.prefix, errors=errors)) from error


@contextmanager
def formset_errors(formset: BaseFormSet, label: str = "") -> Iterator[None]:
    """Run service calls for `formset` as a whole (a deleted row): a DomainError becomes an
    error above its rows, headed by `label` (which row)."""
    try:
        yield
    except DomainError as error:
        messages_ = [
            f"{label}{message}" for found in error_messages(error).values() for message in found
        ]
        raise Refused(
            Refusal(prefix=formset.prefix, errors={None: messages_}, whole_formset=True)
        ) from error


def refuse(form: forms.BaseForm, field: str | None, message: str) -> None:
    """Refuse the form's save with a message of our own (a rule the service answers with a
    value, not an error: blocklist_add's "already there")."""
    raise Refused(Refusal(prefix=form.prefix, errors={field: [message]}))


# The refusal a request's second pass replays. Kept beside the request, not on it.
_REPLAYS: "weakref.WeakKeyDictionary[HttpRequest, Refusal]" = weakref.WeakKeyDictionary()


def _replaying_form(form_class: type[forms.BaseForm], refusal: Refusal) -> type[forms.BaseForm]:
    class Replaying(form_class):  # type: ignore[valid-type,misc]
        def clean(self) -> Any:
            cleaned = super().clean()
            if not refusal.whole_formset and self.prefix == refusal.prefix:
                for field, messages_ in refusal.errors.items():
                    self.add_error(field if field in self.fields else None, messages_)
            return cleaned

    Replaying.__name__ = form_class.__name__
    return Replaying


def _replaying_formset(formset_class: type[BaseFormSet], refusal: Refusal) -> type[BaseFormSet]:
    class Replaying(formset_class):  # type: ignore[valid-type,misc]
        form = _replaying_form(formset_class.form, refusal)

        def clean(self) -> None:
            super().clean()
            if refusal.whole_formset and self.prefix == refusal.prefix:
                raise ValidationError([m for found in refusal.errors.values() for m in found])

    Replaying.__name__ = formset_class.__name__
    return Replaying


class ServiceWrites(admin.ModelAdmin):
    """A ModelAdmin whose writes are service calls (see the module's docstring).

    Subclasses implement `save_model` and `save_formset` with services (and never call
    Django's, which would write the rows as posted); deletions go to `delete_row`.
    """

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except Refused as refused:
            # The first pass's transaction is rolled back; the second one saves nothing.
            _REPLAYS[request] = refused.refusal
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        refusal = _REPLAYS.get(request)
        return form if refusal is None else _replaying_form(form, refusal)

    def get_formsets_with_inlines(self, request: HttpRequest, obj: Any = None) -> Any:
        refusal = _REPLAYS.get(request)
        for formset, inline in super().get_formsets_with_inlines(request, obj):
            yield (formset if refusal is None else _replaying_formset(formset, refusal)), inline

    # --- Deleting --------------------------------------------------------------------------

    def delete_row(self, obj: Any) -> None:
        """Delete one row through its service."""
        raise NotImplementedError(f"{type(self).__name__} deletes through a service")

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self.delete_row(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            try:
                self.delete_row(obj)
            except DomainError as error:
                messages_ = "; ".join(m for found in error_messages(error).values() for m in found)
                self.message_user(request, f"{obj}: {messages_}", messages.ERROR)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            messages_ = "; ".join(m for found in error_messages(error).values() for m in found)
            self.message_user(request, messages_, messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            )


@dataclass
class Rows:
    """An inline formset's rows as the POST asks for them, by what to do with each."""

    changed: "list[tuple[forms.BaseModelForm[Any], list[str]]]"
    new: "list[forms.BaseModelForm[Any]]"
    deleted: "list[forms.BaseModelForm[Any]]"


def formset_rows(formset: Any) -> Rows:
    """The forms of the rows to change (with their changed fields), add and delete.

    Django's `formset.save(commit=False)` decides, writing nothing (it also leaves what the
    admin's change message reads). A row outside the formset's rows (a forged id) is not
    one of its rows to change or delete.
    """
    formset.save(commit=False)
    form_of = {id(form.instance): form for form in formset.forms}
    return Rows(
        changed=[
            (form_of[id(obj)], list(fields))
            for obj, fields in formset.changed_objects
            if not obj._state.adding
        ],
        new=[form_of[id(obj)] for obj in formset.new_objects],
        deleted=[form_of[id(obj)] for obj in formset.deleted_objects if not obj._state.adding],
    )
