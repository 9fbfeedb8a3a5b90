"""Unsubscribe links: an opaque, signed token per lead, and what unsubscribing does.

The token is the lead's id signed with the secret key (salted), so it cannot be forged
or guessed, and a link keeps working for as long as the lead exists.
"""

import uuid

from django.conf import settings
from django.core import signing

from campaigns.models import Campaign
from leads.models import Lead

SALT = "reachkit.unsubscribe"


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, algorithm="sha256")


def token_for(lead: Lead) -> str:
    return _signer().sign(lead.pk.hex)


def lead_id_for(token: str) -> uuid.UUID | None:
    """The lead a token was made for, or None for a forged, truncated or foreign token."""
    try:
        return uuid.UUID(hex=_signer().unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def url_for(lead: Lead) -> str:
    return f"{settings.PUBLIC_URL}/u/{token_for(lead)}"


def url_in(campaign: Campaign, lead: Lead) -> str | None:
    """The link the campaign's emails give `lead`; None when the campaign offers none."""
    return url_for(lead) if campaign.unsubscribe_option else None


def masked(email: str) -> str:
    """`bo•••@acme.com`: enough for the recipient to recognise, not a full address to a stranger.

    At most two characters of the name, and never more than half of it: `jo@acme.com` shows
    as `j•••@acme.com`, so even a short address is not given away whole.
    """
    local, _, domain = email.partition("@")
    shown = local[: min(2, len(local) // 2)]
    return f"{shown}{'•' * 3}@{domain}"
