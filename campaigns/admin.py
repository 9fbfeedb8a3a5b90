"""The back office for campaigns. Every write is a call to the service the API calls
(reachkit.admin_writes): a campaign is created with its schedule and first step, status
moves by actions (the transition and launch checks), and the schedule, steps, variants and
attached inboxes are saved by schedule_update, sequence_update/delete, variant_update/delete
and campaign_inboxes_attach/detach, whose refusals show as form errors."""

from datetime import time
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from campaigns import services, windows
from campaigns.models import OPTION_FIELDS, Campaign, CampaignInbox, Schedule, Sequence, Variant
from campaigns.reporting import analytics
from reachkit.admin_scoping import WorkspaceRawIdWidget, WorkspaceScoped, WorkspaceScopedAdmin
from reachkit.admin_writes import ServiceWrites, form_errors, formset_errors, formset_rows
from reachkit.errors import DomainError
from reachkit.text import header_text_error


class ScheduleForm(forms.ModelForm):
    """The schedule as posted, its times on the 30-minute grid (as the API's input snaps
    them); whether its windows make sense is schedule_update's to say."""

    timezone = forms.ChoiceField(choices=[(zone, zone) for zone in windows.SUPPORTED_TIMEZONES])

    class Meta:
        model = Schedule
        fields = ["timezone", "start_time", "end_time", "days"]
        help_texts = {
            "days": 'monday…sunday → {"enabled": bool, "start": "HH:MM"|null, "end": "HH:MM"|null}',
        }

    def clean_start_time(self) -> time:
        return windows.snap_to_grid(self.cleaned_data["start_time"])

    def clean_end_time(self) -> time:
        return windows.snap_to_grid(self.cleaned_data["end_time"])

    def clean_days(self) -> dict[str, Any]:
        try:
            stored = windows.days_from_json(self.cleaned_data["days"])
        except (windows.InvalidTime, AttributeError, TypeError, KeyError):
            raise forms.ValidationError(
                'Each day is {"enabled": …, "start": "HH:MM"|null, "end": …}.'
            ) from None
        return windows.days_to_json(
            {
                name: windows.Day(
                    enabled=day.enabled,
                    start=windows.snap_to_grid(day.start) if day.start else None,
                    end=windows.snap_to_grid(day.end) if day.end else None,
                )
                for name, day in stored.items()
            }
        )


# Where schedule_update's refusals go on the form.
SCHEDULE_FIELDS = {"default_window.start": "start_time", "default_window.end": "end_time"}


def save_schedule(formset: Any) -> None:
    """The posted schedule, whole, through schedule_update."""
    for form, _ in formset_rows(formset).changed:
        data = form.cleaned_data
        days = windows.days_from_json(data["days"])
        with form_errors(form, SCHEDULE_FIELDS):
            services.schedule_update(
                campaign=form.instance.campaign,
                timezone=data["timezone"],
                default_window={"start": data["start_time"], "end": data["end_time"]},
                days={
                    name: {"enabled": day.enabled, "start": day.start, "end": day.end}
                    for name, day in days.items()
                },
            )


def save_steps(formset: Any) -> None:
    """Delays through sequence_update (waiting leads move), deletions through sequence_delete
    (later steps move up)."""
    rows = formset_rows(formset)
    for form, fields in rows.changed:
        if "delay_days" in fields:
            with form_errors(form):
                services.sequence_update(
                    sequence=form.instance, delay_days=form.cleaned_data["delay_days"]
                )
    for form in rows.deleted:
        with formset_errors(formset, f"Step {form.instance.step}: "):
            services.sequence_delete(sequence=form.instance)


# Where campaign_inboxes_attach's refusals go on a row.
INBOX_FIELDS = {"inbox_ids": "inbox"}


def save_inboxes(campaign: Campaign, formset: Any) -> None:
    """Links through campaign_inboxes_detach and campaign_inboxes_attach: under the campaign's
    lock, only inboxes of its workspace, each locked against its deletion meanwhile."""
    rows = formset_rows(formset)
    for form in rows.deleted:
        with formset_errors(formset, f"{form.instance.inbox}: "):
            services.campaign_inboxes_detach(campaign=campaign, inbox_ids=[form.instance.inbox_id])
    for form, fields in rows.changed:
        if "inbox" in fields:
            with form_errors(form, INBOX_FIELDS):
                services.campaign_inboxes_detach(
                    campaign=campaign, inbox_ids=[form.initial["inbox"]]
                )
                services.campaign_inboxes_attach(
                    campaign=campaign, inbox_ids=[form.cleaned_data["inbox"].pk]
                )
    for form in rows.new:
        with form_errors(form, INBOX_FIELDS):
            services.campaign_inboxes_attach(
                campaign=campaign, inbox_ids=[form.cleaned_data["inbox"].pk]
            )


class ScheduleInline(WorkspaceScoped, admin.StackedInline):
    model = Schedule
    form = ScheduleForm
    can_delete = False
    max_num = 1

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # campaign_create gives every campaign its schedule


class SequenceInline(WorkspaceScoped, admin.TabularInline):
    """Steps with their variants; open a step to edit its variants. Deleting a step moves
    the later ones up (sequence_delete)."""

    model = Sequence
    fields = ["step", "delay_days", "variants_overview"]
    readonly_fields = ["step", "variants_overview"]
    ordering = ["step"]
    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="variants")
    def variants_overview(self, sequence: Sequence) -> str:
        return format_html_join(
            "",
            "<div>{} · {} · {}</div>",
            (
                (
                    variant.letter,
                    "enabled" if variant.enabled else "disabled",
                    variant.subject or "(no subject)",
                )
                for variant in sequence.variants.all()
            ),
        )


class CampaignInboxInline(WorkspaceScoped, admin.TabularInline):
    """The inboxes to choose from are those the campaign may attach (campaign_attachable_inboxes,
    the rule the API's attach goes through): another workspace's inbox is not a valid choice."""

    model = CampaignInbox
    fields = ["inbox", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["inbox"]
    extra = 0
    verbose_name = "attached inbox"
    verbose_name_plural = "attached inboxes"

    def get_formset(self, request: HttpRequest, obj: Campaign | None = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        field = formset.form.base_fields["inbox"]
        assert isinstance(field, forms.ModelChoiceField)
        visible = field.queryset  # the user's workspaces' inboxes (WorkspaceScoped)
        assert visible is not None
        if obj is None:
            field.queryset = visible.none()
            return formset
        field.queryset = visible & services.campaign_attachable_inboxes(obj)
        field.error_messages["invalid_choice"] = "Choose an inbox of the campaign's workspace."
        assert isinstance(field.widget, WorkspaceRawIdWidget)
        field.widget.url_filters = {"workspace__id__exact": str(obj.workspace_id)}
        return formset


@admin.register(Campaign)
class CampaignAdmin(ServiceWrites, WorkspaceScopedAdmin):
    list_display = ["name", "workspace", "status", "daily_limit", "created_at"]
    list_filter = ["status", "workspace"]
    list_select_related = ["workspace"]
    search_fields = ["name"]
    actions = ["launch_or_resume", "pause"]
    inlines = [ScheduleInline, SequenceInline, CampaignInboxInline]

    def get_fields(self, request: HttpRequest, obj: Campaign | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("workspace", "name")
        return ("workspace", "name", "status", "paused_reason", *OPTION_FIELDS, "stats")

    def get_readonly_fields(
        self, request: HttpRequest, obj: Campaign | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("workspace", "status", "paused_reason", "stats", "created_at", "updated_at")

    def get_inlines(self, request: HttpRequest, obj: Campaign | None) -> list[Any]:
        # A new campaign gets its schedule and first step from campaign_create.
        return self.inlines if obj is not None else []

    @admin.display(description="stats")
    def stats(self, campaign: Campaign) -> str:
        stats = analytics.campaign_stats([campaign], breakdown=False)[campaign.pk]
        return format_html(
            "{} leads · {} steps · {} sent · {} contacted · {} replies ({}%) · "
            "{} positive ({}%) · {} bounced ({}%)",
            stats.leads_count,
            stats.sequence_steps,
            stats.sent,
            stats.contacted,
            stats.replies,
            stats.reply_rate,
            stats.positive_replies,
            stats.positive_reply_rate,
            stats.bounced,
            stats.bounce_rate,
        )

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        with form_errors(form):
            if not change:
                created = services.campaign_create(workspace=obj.workspace, name=obj.name)
                obj.pk = created.pk
                obj.refresh_from_db()
                return
            services.campaign_update(
                campaign=obj,
                name=obj.name,
                options={field: getattr(obj, field) for field in OPTION_FIELDS},
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is Schedule:
            save_schedule(formset)
        elif formset.model is Sequence:
            save_steps(formset)
        elif formset.model is CampaignInbox:
            save_inboxes(form.instance, formset)
        else:
            raise TypeError(f"no service saves {formset.model.__name__} rows")

    def delete_row(self, obj: Campaign) -> None:
        services.campaign_delete(campaign=obj)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Its steps go with the campaign (campaign_delete), though none goes alone here.
        perms_needed.discard(Sequence._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    @admin.action(description="Launch or resume the selected campaigns")
    def launch_or_resume(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._set_status(request, queryset, Campaign.Status.ACTIVE)

    @admin.action(description="Pause the selected campaigns")
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        self._set_status(request, queryset, Campaign.Status.PAUSED)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Campaign], status: str) -> None:
        for campaign in queryset:
            try:
                services.campaign_update(campaign=campaign, status=status)
            except DomainError as error:
                problems = "; ".join(
                    message
                    for messages_ in error.details.values()
                    for message in (messages_ if isinstance(messages_, list) else [messages_])
                )
                self.message_user(
                    request, f"{campaign}: {error.message} {problems}", messages.ERROR
                )
            else:
                self.message_user(request, f"{campaign}: now {status}.", messages.SUCCESS)


class VariantForm(forms.ModelForm):
    """A variant's content as posted; variant_update checks its merge tags (after normalising
    the HTML, and in the text version too), stores the normalised HTML and its text."""

    class Meta:
        model = Variant
        fields = ["subject", "body_html", "enabled"]

    def clean_subject(self) -> str:
        subject: str = self.cleaned_data.get("subject") or ""
        problem = header_text_error(subject, "A subject")
        if problem is not None:
            raise forms.ValidationError(problem)
        return subject


# The text version is derived from the HTML: the HTML is what to shorten.
VARIANT_FIELDS = {"body_text": "body_html"}


class VariantInline(WorkspaceScoped, admin.StackedInline):
    """A step's variants. Deleting one goes through variant_delete: not its last enabled one."""

    model = Variant
    form = VariantForm
    fields = ["letter", "subject", "body_html", "body_text", "enabled"]
    readonly_fields = ["letter", "body_text"]
    ordering = ["letter"]
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Sequence)
class SequenceAdmin(ServiceWrites, WorkspaceScopedAdmin):
    """A step and its variants, reached from its campaign's page."""

    list_display = ["__str__", "campaign", "step", "delay_days"]
    list_select_related = ["campaign"]
    fields = ["campaign", "step", "delay_days"]
    readonly_fields = ["campaign", "step"]
    inlines = [VariantInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # from its campaign's page, where the other steps show

    def save_model(self, request: HttpRequest, obj: Sequence, form: Any, change: bool) -> None:
        if "delay_days" in form.changed_data:
            with form_errors(form):
                services.sequence_update(sequence=obj, delay_days=obj.delay_days)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Changes through variant_update, enabling ones first, deletions last: each write
        keeps the step an enabled variant, as the API's do, and a set of changes that ends
        with one is not refused on the way."""
        rows = formset_rows(formset)
        changed = sorted(rows.changed, key=lambda row: not row[0].cleaned_data.get("enabled"))
        for variant_form, fields in changed:
            updates = {
                name: variant_form.cleaned_data[name]
                for name in ("subject", "body_html", "enabled")
                if name in fields
            }
            with form_errors(variant_form, VARIANT_FIELDS):
                services.variant_update(variant=variant_form.instance, **updates)
        for variant_form in rows.deleted:
            with formset_errors(formset, f"Variant {variant_form.instance.letter}: "):
                services.variant_delete(variant=variant_form.instance)

    def has_module_permission(self, request: HttpRequest) -> bool:
        # Listed under its campaign, not on the admin index.
        return False
