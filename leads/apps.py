from typing import Any

from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        # Leads keep `is_blocklisted` true to the blocklist: the blocklist (a leaf) announces
        # its changes inside their transactions, and these services mark or unmark leads.
        from blocklist import signals

        signals.entries_added.connect(_blocklisted, dispatch_uid="leads.blocklisted")
        signals.entries_removed.connect(_unblocklisted, dispatch_uid="leads.unblocklisted")


def _blocklisted(*, workspace_id: Any, emails: list[str], domains: list[str], **_: Any) -> None:
    from leads.services import leads_blocklisted

    leads_blocklisted(workspace_id=workspace_id, emails=emails, domains=domains)


def _unblocklisted(*, workspace_id: Any, emails: list[str], domains: list[str], **_: Any) -> None:
    from leads.services import leads_unblocklisted

    leads_unblocklisted(workspace_id=workspace_id, emails=emails, domains=domains)
