"""Campaign API I/O: projections out, strictly typed payloads in. No rules live here."""

from typing import Any, ClassVar

from django.db.models import BooleanField
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns import windows
from campaigns.models import (
    MAX_DELAY_DAYS,
    OPTION_FIELDS,
    Campaign,
    Schedule,
    Sequence,
    Variant,
)
from campaigns.reporting.analytics import CampaignStats, DailyStats, SequenceStats, VariantStats
from campaigns.reporting.diagnostics import (
    DailyLimitDiagnosis,
    Diagnosis,
    InboxDiagnosis,
    InboxesDiagnosis,
    LeadsDiagnosis,
    Reason,
    StoppedDiagnosis,
    WindowDiagnosis,
)
from inboxes.models import Inbox
from leads.inputs import MAX_VARIABLE_NAME_LENGTH, MAX_VARIABLE_VALUE_LENGTH, variable_problem
from reachkit.api.fields import (
    HeaderTextField,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictDictField,
    StrictIntegerField,
    StrictListField,
    StrictUUIDField,
    refuse_bad_text,
)
from reachkit.api.inputs import InputSerializer
from reachkit.api.projections import dataclass_serializer
from reachkit.api.schema import closed_object, exactly_one_of, variables_schema

MAX_DAILY_LIMIT = 2_147_483_647  # the column's range: more is "no limit" in practice
MAX_INBOX_IDS = 500
MAX_SUBJECT_LENGTH = 500
MAX_BODY_LENGTH = 100_000
MAX_PREVIEW_VARIABLES = 200
# What a client may set `status` to; which change is allowed is the service's call.
STATUS_CHANGES = [Campaign.Status.ACTIVE, Campaign.Status.PAUSED]

# --- Out ------------------------------------------------------------------------------------


class CampaignInboxSerializer(serializers.ModelSerializer):
    """An inbox as a campaign shows it (inline, and from attach/detach)."""

    class Meta:
        model = Inbox
        fields = ["id", "email", "provider", "is_active", "connection_status"]
        read_only_fields = fields


class CampaignOptionsSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = list(OPTION_FIELDS)
        read_only_fields = fields


class WindowSerializer(serializers.Serializer):
    start = serializers.CharField(help_text='"HH:MM", 24-hour, on the 30-minute grid.')
    end = serializers.CharField(help_text='"HH:MM", 24-hour, on the 30-minute grid.')


class DaySerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    start = serializers.CharField(allow_null=True, help_text="null: the default window's.")
    end = serializers.CharField(allow_null=True, help_text="null: the default window's.")


class DaysSerializer(serializers.Serializer):
    monday = DaySerializer()
    tuesday = DaySerializer()
    wednesday = DaySerializer()
    thursday = DaySerializer()
    friday = DaySerializer()
    saturday = DaySerializer()
    sunday = DaySerializer()


class ScheduleSerializer(serializers.Serializer):
    timezone = serializers.CharField(help_text="An IANA zone from the supported list.")
    default_window = WindowSerializer()
    days = DaysSerializer()

    def to_representation(self, instance: Schedule) -> dict[str, Any]:
        weekly = instance.weekly()
        return {
            "timezone": weekly.timezone,
            "default_window": {
                "start": windows.format_time(weekly.default.start),
                "end": windows.format_time(weekly.default.end),
            },
            "days": windows.days_to_json(weekly.days),
        }


# --- Analytics and diagnostics: generated from the services' dataclasses -----------------------

VariantStatsSerializer = dataclass_serializer(VariantStats, name="VariantStatsSerializer")
SequenceStatsSerializer = dataclass_serializer(
    SequenceStats, name="SequenceStatsSerializer", nested={VariantStats: VariantStatsSerializer}
)
DailyStatsSerializer = dataclass_serializer(DailyStats, name="DailyStatsSerializer")
STATS_HELP = {
    "progress": "Cached percentage of leads that will get no more email.",
    "sent": "Emails that left: accepted, or refused by the recipient's server (bounced).",
    "contacted": "Distinct leads with at least one accepted email.",
    "replies": "Distinct leads that replied.",
    "reply_rate": "Percentage: replies / contacted.",
    "positive_replies": "Replied leads marked positive.",
    "positive_reply_rate": "Percentage: positive / contacted.",
    "bounced": "Bounced emails (counted among `sent`).",
    "bounce_rate": "Percentage: bounced / sent.",
}
CampaignStatsSerializer = dataclass_serializer(
    CampaignStats,
    name="CampaignStatsSerializer",
    doc="The headline numbers (the index's and update's `stats`).",
    exclude=("daily", "sequences"),
    help_texts=STATS_HELP,
)
CampaignAnalyticsSerializer = dataclass_serializer(
    CampaignStats,
    name="CampaignAnalyticsSerializer",
    doc="The headline numbers, 30 daily rows ending today, and the per-variant breakdown.",
    nested={DailyStats: DailyStatsSerializer, SequenceStats: SequenceStatsSerializer},
    help_texts=STATS_HELP,
)

DiagnosisReasonSerializer = dataclass_serializer(
    Reason,
    name="DiagnosisReasonSerializer",
    help_texts={
        "code": "A stable, machine-readable name for the reason.",
        "message": "The reason in a sentence, with its numbers.",
    },
)
DiagnosisWindowSerializer = dataclass_serializer(
    WindowDiagnosis,
    name="DiagnosisWindowSerializer",
    help_texts={
        "is_open": "Whether the schedule allows sending now.",
        "opens_at": "Closed: the next opening; null when no day is enabled.",
        "closes_at": "Open: when today's window closes.",
    },
)
DiagnosisDailyLimitSerializer = dataclass_serializer(
    DailyLimitDiagnosis,
    name="DiagnosisDailyLimitSerializer",
    help_texts={
        "used_today": "Emails used today, in the campaign's timezone (sent, bounced, failed, "
        "in flight).",
        "resets_at": "Midnight in the campaign's timezone.",
    },
)
DiagnosisInboxSerializer = dataclass_serializer(
    InboxDiagnosis,
    name="DiagnosisInboxSerializer",
    help_texts={
        "used_today": "Across all campaigns, in the UTC day.",
        "daily_limit": "The inbox's daily_campaign_limit.",
        "next_send_at": "Waiting for its gap: when it may send again.",
    },
)
DiagnosisInboxesSerializer = dataclass_serializer(
    InboxesDiagnosis,
    name="DiagnosisInboxesSerializer",
    nested={InboxDiagnosis: DiagnosisInboxSerializer},
    help_texts={
        "usable_now": "Active, connected, under cap, gap passed.",
        "next_send_at": "The earliest end of a gap among the inboxes waiting.",
        "caps_reset_at": "Inbox caps count per UTC day.",
    },
)
DiagnosisStoppedSerializer = dataclass_serializer(
    StoppedDiagnosis, name="DiagnosisStoppedSerializer"
)
DiagnosisLeadsSerializer = dataclass_serializer(
    LeadsDiagnosis,
    name="DiagnosisLeadsSerializer",
    doc="Each lead counts once, in the first state that applies (stopped first).",
    nested={StoppedDiagnosis: DiagnosisStoppedSerializer},
    help_texts={
        "retries_due": "Emails put back after a temporary failure and due again (in flight).",
        "awaiting_esp_detection": "Due for step 1, ESP not detected yet; null without "
        "esp_matching.",
        "next_due_at": "The earliest time a waiting lead is due.",
        "in_flight": "Leads with an email claimed, scheduled for a retry, or of unknown outcome.",
        "unknown_outcome": "Emails whose connection broke after sending, awaiting reconciliation.",
        "empty_merge_tags": "Leads still to be emailed (not unsubscribed, bounced or "
        "blocklisted) with no value for a merge tag, without a fallback, of an enabled "
        "variant: it renders empty for them (the warning `empty_merge_tags` names the tags).",
    },
)
CampaignDiagnosticsSerializer = dataclass_serializer(
    Diagnosis,
    name="CampaignDiagnosticsSerializer",
    doc="Why the campaign is or is not sending right now (campaigns/reporting/diagnostics.py).",
    nested={
        Reason: DiagnosisReasonSerializer,
        WindowDiagnosis: DiagnosisWindowSerializer,
        DailyLimitDiagnosis: DiagnosisDailyLimitSerializer,
        InboxesDiagnosis: DiagnosisInboxesSerializer,
        LeadsDiagnosis: DiagnosisLeadsSerializer,
    },
    help_texts={
        "sending": "True exactly when `reasons` is empty.",
        "paused_reason": "Why it paused itself (bounce protection); null otherwise.",
        "reasons": "What keeps it from sending.",
        "warnings": "What slows it down.",
    },
)


class CampaignSerializer(serializers.ModelSerializer):
    """The campaign projection with summary stats. Needs `context["stats"]`: id → stats."""

    options = CampaignOptionsSerializer(source="*", read_only=True)
    schedule = ScheduleSerializer(read_only=True)
    stats = serializers.SerializerMethodField()
    inboxes = CampaignInboxSerializer(many=True, read_only=True)

    stats_serializer: type[serializers.Serializer] = CampaignStatsSerializer

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "status",
            "progress",
            "options",
            "schedule",
            "stats",
            "inboxes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(CampaignStatsSerializer)
    def get_stats(self, campaign: Campaign) -> dict[str, Any]:
        stats: CampaignStats = self.context["stats"][campaign.pk]
        return dict(self.stats_serializer(stats).data)


class CampaignDetailSerializer(CampaignSerializer):
    """The campaign projection with full stats: daily rows and the sequence breakdown."""

    stats_serializer = CampaignAnalyticsSerializer

    @extend_schema_field(CampaignAnalyticsSerializer)
    def get_stats(self, campaign: Campaign) -> dict[str, Any]:
        return super().get_stats(campaign)


class VariantSerializer(serializers.ModelSerializer):
    """A variant as its own endpoints return it."""

    class Meta:
        model = Variant
        fields = ["id", "subject", "body_html", "body_text", "enabled"]
        read_only_fields = fields


class VariantWarningSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="`unknown_merge_tag`.")
    name = serializers.CharField(help_text="The variable, normalised.")
    message = serializers.CharField()


class VariantWrittenSerializer(serializers.ModelSerializer):
    """A variant as creating or changing it returns it: with its letter, and `warnings` about
    what was accepted but may not render as meant (needs `context["warnings"]`)."""

    warnings = serializers.SerializerMethodField()

    class Meta:
        model = Variant
        fields = ["id", "letter", "subject", "body_html", "body_text", "enabled", "warnings"]
        read_only_fields = fields

    @extend_schema_field(VariantWarningSerializer(many=True))
    def get_warnings(self, variant: Variant) -> list[dict[str, Any]]:
        return [dict(VariantWarningSerializer(w).data) for w in self.context["warnings"]]


class SequenceVariantSerializer(serializers.ModelSerializer):
    """A variant inside its step: with its letter."""

    class Meta:
        model = Variant
        fields = ["id", "letter", "subject", "body_html", "body_text", "enabled"]
        read_only_fields = fields


class SequenceSerializer(serializers.ModelSerializer):
    """A step. Needs `context["last_step"]`: the last step's delay is null (nothing follows)."""

    delay_days = serializers.SerializerMethodField()
    variants = SequenceVariantSerializer(many=True, read_only=True)

    class Meta:
        model = Sequence
        fields = ["id", "step", "delay_days", "variants"]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_delay_days(self, sequence: Sequence) -> int | None:
        return None if sequence.step >= self.context["last_step"] else sequence.delay_days


# --- In -------------------------------------------------------------------------------------


class CampaignCreateSerializer(InputSerializer):
    name = StrictCharField(max_length=150)


def option_input(name: str) -> serializers.Field:
    """An option's input field, strictly typed after its model field."""
    if isinstance(Campaign._meta.get_field(name), BooleanField):
        return StrictBooleanField(required=False)
    return StrictIntegerField(min_value=0, max_value=MAX_DAILY_LIMIT, required=False)


class CampaignUpdateSerializer(InputSerializer):
    # Name, status, and any of the options (OPTION_FIELDS, added by get_fields).
    unknown_field_hints: ClassVar[dict[str, str]] = {
        "options": (
            "Not a field here: the options are top-level fields of PATCH /campaigns/:id "
            f'({", ".join(OPTION_FIELDS)}), e.g. {{"daily_limit": 7}}.'
        ),
        "schedule": "Not a field here: the schedule has its own endpoint, "
        "PATCH /campaigns/:id/schedule.",
        "inboxes": "Not a field here: attach inboxes with POST /campaigns/:id/inboxes/attach "
        "(and detach them with …/detach).",
    }
    name = StrictCharField(max_length=150, required=False)
    status = StrictChoiceField(
        choices=STATUS_CHANGES,
        required=False,
        help_text="draft → active, active → paused, paused → active.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields.update({name: option_input(name) for name in OPTION_FIELDS})
        return fields


@extend_schema_field(
    {"type": "string", "pattern": "^(?:[01][0-9]|2[0-3]):[0-5][0-9]$", "example": "09:00"}
)
class GridTimeField(serializers.Field):
    """A "HH:MM" string in, a time on the 30-minute grid out (ties round up, max 23:30)."""

    default_error_messages = {"invalid": 'Use a 24-hour time, "HH:MM".'}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return windows.snap_to_grid(windows.parse_time(data))
        except windows.InvalidTime:
            self.fail("invalid")

    def to_representation(self, value: Any) -> str:
        return windows.format_time(value)


class WindowUpdateSerializer(InputSerializer):
    start = GridTimeField(required=False)
    end = GridTimeField(required=False)


class DayUpdateSerializer(InputSerializer):
    enabled = StrictBooleanField(required=False)
    start = GridTimeField(required=False, allow_null=True)
    end = GridTimeField(required=False, allow_null=True)


@closed_object
class DaysUpdateSerializer(InputSerializer):
    monday = DayUpdateSerializer(required=False)
    tuesday = DayUpdateSerializer(required=False)
    wednesday = DayUpdateSerializer(required=False)
    thursday = DayUpdateSerializer(required=False)
    friday = DayUpdateSerializer(required=False)
    saturday = DayUpdateSerializer(required=False)
    sunday = DayUpdateSerializer(required=False)

    def to_internal_value(self, data: Any) -> Any:
        # A misspelt day would otherwise be ignored and the user would think it was set.
        if isinstance(data, dict):
            for key in data:
                refuse_bad_text(key)  # before a message quotes it
            unknown = sorted(str(key) for key in data if key not in windows.DAYS)
            if unknown:
                raise serializers.ValidationError(
                    {key: [f"Not a day; use one of {', '.join(windows.DAYS)}."] for key in unknown}
                )
        return super().to_internal_value(data)


class _TimezoneField(StrictCharField):
    schema_override = {"enum": list(windows.SUPPORTED_TIMEZONES)}


class ScheduleUpdateSerializer(InputSerializer):
    timezone = _TimezoneField(required=False, help_text="An IANA zone from the supported list.")
    default_window = WindowUpdateSerializer(required=False)
    days = DaysUpdateSerializer(required=False)

    def validate_timezone(self, value: str) -> str:
        if value not in windows.SUPPORTED_TIMEZONES:
            raise serializers.ValidationError(
                f"Unsupported timezone; use one of: {', '.join(windows.SUPPORTED_TIMEZONES)}."
            )
        return value


class InboxIdsSerializer(InputSerializer):
    inbox_ids = StrictListField(
        noun="inbox id",
        child=StrictUUIDField(),
        min_length=1,
        max_length=MAX_INBOX_IDS,
        help_text="One or more inbox ids of this workspace.",
    )


DELAY_DAYS_MEANING = (
    "A step's `delay_days` is the wait after it: step n+1 is due `delay_days` of step n "
    "after step n was sent, at the next open window of the schedule. The last step has no "
    "next step, so its `delay_days` is shown as null."
)


class SequenceCreateSerializer(InputSerializer):
    delay_days = StrictIntegerField(
        min_value=0,
        max_value=MAX_DELAY_DAYS,
        required=False,
        help_text="The new step's own delay: the wait after it, before a step added later "
        "(defaults to 3; shown as null while the new step is last). The wait before the new "
        "step is the previous step's `delay_days`.",
    )


class SequenceUpdateSerializer(InputSerializer):
    delay_days = StrictIntegerField(
        min_value=0,
        max_value=MAX_DELAY_DAYS,
        help_text="Days to wait after this step; 0: the next open window.",
    )


class SubjectField(HeaderTextField):
    """One line of text with no control character (a subject is an email header), passed on
    untrimmed so a merge-tag error's offset points into what the client sent; the service
    trims what it stores."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    @property
    def refuses_spaces_only(self) -> bool:
        return not self.allow_blank

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not self.allow_blank and not value.strip():
            self.fail("blank")
        return value


class VariantCreateSerializer(InputSerializer):
    subject = SubjectField(max_length=MAX_SUBJECT_LENGTH, help_text="Required, non-empty.")
    body_html = StrictCharField(
        max_length=MAX_BODY_LENGTH, required=False, allow_blank=True, trim_whitespace=False
    )
    enabled = StrictBooleanField(required=False, help_text="Defaults to true.")


class VariantUpdateSerializer(InputSerializer):
    subject = SubjectField(
        max_length=MAX_SUBJECT_LENGTH,
        required=False,
        allow_blank=True,
        help_text='Empty on a follow-up: sent as "Re: <step 1 subject>".',
    )
    body_html = StrictCharField(
        max_length=MAX_BODY_LENGTH, required=False, allow_blank=True, trim_whitespace=False
    )
    enabled = StrictBooleanField(required=False)


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]})
class ScalarField(serializers.Field):
    """A JSON string, number, boolean or null: what a merge-tag value can be."""

    default_error_messages = {"invalid": "A value must be a string, a number, true/false or null."}

    def to_internal_value(self, data: Any) -> Any:
        if data is not None and not isinstance(data, str | int | float | bool):
            self.fail("invalid")
        if isinstance(data, str):
            refuse_bad_text(data)
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    variables_schema(
        max_variables=MAX_PREVIEW_VARIABLES,
        max_name=MAX_VARIABLE_NAME_LENGTH,
        max_value=MAX_VARIABLE_VALUE_LENGTH,
        description="",
    )
)
class _PreviewVariablesField(StrictDictField):
    pass


@exactly_one_of("lead_id", "variables")
class PreviewRequestSerializer(InputSerializer):
    lead_id = StrictUUIDField(required=False, help_text="A lead of this campaign.")
    variables = _PreviewVariablesField(
        child=ScalarField(allow_null=True),
        required=False,
        help_text=(
            'Values by name, instead of a lead: {"first_name": "Ada", "company": "Acme"}; a '
            f"lead's limits: names of at most {MAX_VARIABLE_NAME_LENGTH} characters, values "
            f"of at most {MAX_VARIABLE_VALUE_LENGTH:,}."
        ),
    )
    inbox_id = StrictUUIDField(
        required=False,
        help_text="An inbox of this workspace, for the sender_* variables and its signature.",
    )

    def validate_variables(self, value: dict[str, Any]) -> dict[str, Any]:
        """A lead's rules for each name and value (leads.inputs), so a preview renders nothing
        a lead could not hold; more variables, since the built-ins and sender's come in too."""
        if len(value) > MAX_PREVIEW_VARIABLES:
            raise serializers.ValidationError(f"At most {MAX_PREVIEW_VARIABLES} variables.")
        messages = [
            problem
            for key, item in value.items()
            if (problem := variable_problem(key, item)) is not None
        ]
        if messages:
            raise serializers.ValidationError(messages)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("lead_id" in attrs) == ("variables" in attrs):
            message = "Provide either `lead_id` or `variables`."
            raise serializers.ValidationError({"lead_id": [message], "variables": [message]})
        return attrs


class PreviewSerializer(serializers.Serializer):
    subject = serializers.CharField()
    body_html = serializers.CharField()
    body_text = serializers.CharField()
    missing_variables = serializers.ListField(
        child=serializers.CharField(),
        source="missing",
        help_text="Variables used without a value or a fallback (they render empty).",
    )
