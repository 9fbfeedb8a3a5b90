"""The back office for campaigns. Edits go through the same rules as the API: status moves
by actions (the transition and launch checks), variant content is validated and normalised,
and a campaign is created with its schedule and first step."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from campaigns import services, windows
from campaigns.content import html_body, merge_tags, rendering
from campaigns.models import OPTION_FIELDS, Campaign, CampaignInbox, Schedule, Sequence, Variant
from campaigns.reporting import analytics
from reachkit.admin_scoping import WorkspaceRawIdWidget, WorkspaceScoped, WorkspaceScopedAdmin
from reachkit.errors import DomainError
from reachkit.text import header_text_error


class ScheduleForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=[(zone, zone) for zone in windows.SUPPORTED_TIMEZONES])

    class Meta:
        model = Schedule
        fields = ["timezone", "start_time", "end_time", "days"]
        help_texts = {
            "days": 'monday…sunday → {"enabled": bool, "start": "HH:MM"|null, "end": "HH:MM"|null}',
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        try:
            stored = windows.days_from_json(data["days"])
        except (windows.InvalidTime, AttributeError, TypeError, KeyError):
            raise forms.ValidationError(
                {"days": 'Each day is {"enabled": …, "start": "HH:MM"|null, "end": …}.'}
            ) from None
        days = {
            name: windows.Day(
                enabled=day.enabled,
                start=windows.snap_to_grid(day.start) if day.start else None,
                end=windows.snap_to_grid(day.end) if day.end else None,
            )
            for name, day in stored.items()
        }
        data["start_time"] = windows.snap_to_grid(data["start_time"])
        data["end_time"] = windows.snap_to_grid(data["end_time"])
        weekly = windows.WeeklySchedule(
            timezone=data["timezone"],
            default=windows.Window(data["start_time"], data["end_time"]),
            days=days,
        )
        bad = weekly.invalid_windows()
        if bad:
            raise forms.ValidationError(f"These windows end before they start: {', '.join(bad)}.")
        data["days"] = windows.days_to_json(days)
        return data


class ScheduleInline(WorkspaceScoped, admin.StackedInline):
    model = Schedule
    form = ScheduleForm
    can_delete = False
    max_num = 1


class SequenceInline(WorkspaceScoped, admin.TabularInline):
    """Steps with their variants; open a step to edit its variants."""

    model = Sequence
    fields = ["step", "delay_days", "variants_overview"]
    readonly_fields = ["step", "variants_overview"]
    ordering = ["step"]
    extra = 0
    can_delete = False
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
class CampaignAdmin(WorkspaceScopedAdmin):
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
    """Content checked like the API's: merge tags parse, HTML is normalised, text derived."""

    class Meta:
        model = Variant
        fields = ["subject", "body_html", "enabled"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for field in ("subject", "body_html"):
            try:
                merge_tags.validate(data.get(field) or "")
            except merge_tags.MergeTagError as error:
                self.add_error(field, f"{error.message} (at character {error.offset}).")
        problem = header_text_error(data.get("subject") or "", "A subject")
        if problem is not None:
            self.add_error("subject", problem)
        if not self.errors:
            body = html_body.normalize_html(data.get("body_html") or "")
            try:
                rendering.check_template(subject=data.get("subject"), body_html=body)
            except merge_tags.TooLong as error:
                # The text version is derived from the HTML: the HTML is what to shorten.
                self.add_error("subject" if error.field == "subject" else "body_html", f"{error}.")
        return data

    def save(self, commit: bool = True) -> Variant:
        variant = super().save(commit=False)
        body = self.cleaned_data.get("body_html")
        if body is not None:
            body = html_body.normalize_html(body)
        if variant.sequence.campaign.unsubscribe_option:
            body = html_body.ensure_unsubscribe_link(body or "")
        variant.set_body(body)
        if commit:
            variant.save()
        return variant


class VariantFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        enabled = [
            form.cleaned_data.get("enabled")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if self.forms and not any(enabled):
            raise forms.ValidationError("A step needs at least one enabled variant.")


class VariantInline(WorkspaceScoped, admin.StackedInline):
    model = Variant
    form = VariantForm
    formset = VariantFormSet
    fields = ["letter", "subject", "body_html", "body_text", "enabled"]
    readonly_fields = ["letter", "body_text"]
    ordering = ["letter"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Sequence)
class SequenceAdmin(WorkspaceScopedAdmin):
    """A step and its variants, reached from its campaign's page."""

    list_display = ["__str__", "campaign", "step", "delay_days"]
    list_select_related = ["campaign"]
    fields = ["campaign", "step", "delay_days"]
    readonly_fields = ["campaign", "step"]
    inlines = [VariantInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_module_permission(self, request: HttpRequest) -> bool:
        # Listed under its campaign, not on the admin index.
        return False
