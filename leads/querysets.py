"""Single-model queries on leads and the ESP cache."""

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from leads.models import DomainProvider, Lead  # noqa: F401


class LeadQuerySet(models.QuerySet["Lead"]):
    def pending_provider(self) -> "LeadQuerySet":
        """Leads whose mail provider is not known yet (served by `lead_provider_pending`)."""
        return self.filter(provider__isnull=True)

    def with_email(self, email: str) -> "LeadQuerySet":
        """Leads with this address, whatever its case (served by the unique index)."""
        return self.filter(email_key=email.strip().lower())


class DomainProviderQuerySet(models.QuerySet["DomainProvider"]):
    def fresh(self, now: datetime) -> "DomainProviderQuerySet":
        """Rows whose provider is known and not expired: no DNS needed."""
        return self.filter(provider__isnull=False, expires_at__gt=now)

    def claimable(self, now: datetime) -> "DomainProviderQuerySet":
        """Rows a worker may claim: stale or unknown, unclaimed (or the claim lapsed), and
        not waiting for a retry."""
        return (
            self.filter(
                Q(provider__isnull=True) | Q(expires_at__isnull=True) | Q(expires_at__lte=now)
            )
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        )
