from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from campaigns.models import Campaign
from leads.imports import ImportRefused
from leads.inputs import IF_EXISTS_CHOICES, IfExists
from leads.models import DomainProvider, Lead
from leads.services import lead_delete, lead_import_csv
from reachkit.admin_scoping import SuperuserOnly, WorkspaceScopedAdmin
from reachkit.admin_writes import ServiceWrites
from reachkit.text import plural

SHOWN_ERRORS = 20


@admin.register(Lead)
class LeadAdmin(ServiceWrites, WorkspaceScopedAdmin):
    """Leads are written by the API and imports (their rules live in leads.services): here
    they are read, imported (an action on a campaign) and deleted by lead_delete."""

    # Through the campaign: the lead indexes lead with it, none with the workspace.
    workspace_path = "campaign__workspace"

    list_display = ["email", "campaign", "status", "provider", "is_blocklisted", "created_at"]
    list_filter = ["status", "provider", "is_bounced", "is_unsubscribed", "is_blocklisted"]
    list_select_related = ["campaign"]
    search_fields = ["email_key"]
    raw_id_fields = ["campaign", "workspace"]
    readonly_fields = [field.name for field in Lead._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_row(self, obj: Lead) -> None:
        lead_delete(lead=obj)


@admin.register(DomainProvider)
class DomainProviderAdmin(SuperuserOnly, admin.ModelAdmin):
    """The MX look-up cache every workspace shares: not any one workspace's to see or edit."""

    list_display = ["domain", "provider", "checked_at", "expires_at", "attempts", "retry_at"]
    list_filter = ["provider"]
    search_fields = ["domain"]


class LeadImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, commas or semicolons, a header row.")
    if_exists = forms.ChoiceField(
        choices=[(choice, choice) for choice in IF_EXISTS_CHOICES],
        initial=IfExists.FAIL.value,
        label="When the email is already in the campaign",
    )


@admin.action(description="Import leads from a CSV file", permissions=["change"])
def import_leads_csv(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Campaign]
) -> TemplateResponse | None:
    """An intermediate page with an upload form, posted back to this action."""
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one campaign.", messages.ERROR)
        return None
    campaign = queryset.select_related("workspace").get()
    submitted = "upload" in request.POST
    form = LeadImportForm(request.POST if submitted else None, request.FILES if submitted else None)
    if submitted and form.is_valid():
        try:
            result = lead_import_csv(
                campaign=campaign,
                stream=form.cleaned_data["file"],
                if_exists=IfExists(form.cleaned_data["if_exists"]),
            )
        except ImportRefused as refused:
            form.add_error("file", refused.message)
        else:
            modeladmin.message_user(
                request,
                f'"{campaign}": {plural(result.rows, "row")}, {result.created:,} created, '
                f"{result.updated:,} updated, {result.skipped:,} skipped, "
                f"{len(result.errors):,} failed.",
                messages.SUCCESS if not result.errors else messages.WARNING,
            )
            for line, message in result.errors[:SHOWN_ERRORS]:
                modeladmin.message_user(request, f"line {line}: {message}", messages.WARNING)
            if len(result.errors) > SHOWN_ERRORS:
                modeladmin.message_user(
                    request,
                    f"… and {plural(len(result.errors) - SHOWN_ERRORS, 'more bad row')}.",
                    messages.WARNING,
                )
            note = result.lines_note()
            if note is not None:
                modeladmin.message_user(request, note, messages.INFO)
            return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Import leads into {campaign}",
        "opts": modeladmin.model._meta,
        "campaign": campaign,
        "form": form,
        "action_name": "import_leads_csv",
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/leads/import_leads.html", context)


class CampaignAdmin(WorkspaceScopedAdmin):
    """Stand-in until the campaigns app registers its own admin."""

    list_display = ["name", "workspace", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["workspace"]
    search_fields = ["name"]


def _add_import_action() -> None:
    """Offer the import on the campaign admin, whoever registered it.

    campaigns comes before leads in INSTALLED_APPS, so campaigns/admin.py (when it
    exists) has registered its ModelAdmin by now; this module then only adds an action.
    """
    if not admin.site.is_registered(Campaign):
        admin.site.register(Campaign, CampaignAdmin)
    campaign_admin = admin.site.get_model_admin(Campaign)
    campaign_admin.actions = [*(campaign_admin.actions or ()), import_leads_csv]


_add_import_action()
