"""The public pages: no API key, a signed token is the credential."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns.content import unsubscribe
from campaigns.sending import services
from leads.models import Lead
from reachkit import ratelimit

UNSUBSCRIBE_TEMPLATE = "campaigns/unsubscribe.html"


@csrf_exempt  # the RFC 8058 one-click POST comes from a mail provider, with no CSRF token
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET (and HEAD) show a confirm button and change nothing: link scanners fetch links.
    POST unsubscribes: the button, or a mail client's RFC 8058 one-click request; again is
    harmless. A forged, tampered or cut-short token, or a deleted lead's, is a 404 page.
    Past REACHKIT_UNSUBSCRIBE_RATE requests from one address, a 429 page."""
    verdict = ratelimit.hit("unsubscribe", ratelimit.client_ip(request), settings.UNSUBSCRIBE_RATE)
    if not verdict.allowed:
        response = render(request, UNSUBSCRIBE_TEMPLATE, {"state": "throttled"}, status=429)
        response["Retry-After"] = str(verdict.retry_after)
        return response
    lead_id = unsubscribe.lead_id_for(token)
    lead = Lead.objects.filter(pk=lead_id).first() if lead_id else None
    if lead is None:
        return render(request, UNSUBSCRIBE_TEMPLATE, {"state": "invalid"}, status=404)
    if request.method == "POST" and not lead.is_unsubscribed:
        services.lead_unsubscribe(lead=lead)
        lead.is_unsubscribed = True
    first = lead.sends.exclude(from_email="").select_related("inbox").order_by("created_at").first()
    sender = "this sender"
    if first is not None:
        sender = (first.inbox.display_name if first.inbox else "") or first.from_email
    context = {
        "state": "done" if lead.is_unsubscribed else "confirm",
        # Whoever holds the link sees a masked address, never the whole one.
        "email": unsubscribe.masked(lead.email),
        "sender": sender,
    }
    return render(request, UNSUBSCRIBE_TEMPLATE, context)
