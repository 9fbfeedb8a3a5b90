"""The optional LLM backend for reply labels: an OpenAI-compatible chat endpoint.

Off unless `REACHKIT_LLM_URL` is set. The endpoint is asked for exactly one label from the
fixed set, at temperature 0; anything else it does (a timeout, a refused connection, a
non-200 status, a redirect, a body that is not the expected JSON, an answer that is not
exactly one known label) makes `label()` return None, and the caller falls back to the
offline classifier. The URL is the self-hoster's own choice, not a tenant's, so it is not
held to the inbox address policy. The API key is sent only in the `Authorization` header
and never logged; a redirect is never followed (it would carry the key elsewhere).
"""

import json
import logging
import re
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from unibox.reply_model import LABELS

logger = logging.getLogger(__name__)

# More than any chat completion carrying one word.
MAX_RESPONSE_BYTES = 1024 * 1024
# What the model reads of a reply, at most.
MAX_PROMPT_TEXT = 4000

SYSTEM_PROMPT = (
    "You label replies to a cold sales email. Answer with exactly one label from this list "
    "and nothing else:\n"
    "interested - wants to go ahead or is clearly positive, without asking for a meeting\n"
    "meeting_requested - asks for or agrees to a call, demo or meeting, or proposes times\n"
    "needs_more_info - asks for material, pricing, details or a proposal before deciding\n"
    "question - asks a specific question\n"
    "not_interested - declines\n"
    "wrong_person - says they are not the right contact, without naming who is\n"
    "referral - names or copies in someone else to talk to\n"
    "out_of_office - away, on leave or travelling for a while\n"
    "left_company - the person no longer works there\n"
    "unsubscribe - asks to be removed or to stop receiving emails\n"
    "neutral - anything else (thanks, acknowledgements, will look later)\n"
    "The reply may be in any language. Answer with the label only."
)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def endpoint(url: str) -> str:
    """The chat completions URL: REACHKIT_LLM_URL is the API's base (`…/v1`) or the full
    `…/chat/completions` address."""
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


def parse_answer(content: str) -> str | None:
    """The label in a model's answer, strictly: one known label, give or take quotes,
    backticks, a trailing full stop and letter case. Anything else is None."""
    answer = content.strip().strip("`'\"*").strip().rstrip(".").strip().lower()
    answer = re.sub(r"^label\s*:\s*", "", answer)
    return answer if answer in LABELS else None


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def label(*, subject: str, text: str) -> str | None:
    """The configured model's label for a reply, or None when no model is configured or
    anything at all goes wrong (the caller then uses the offline classifier)."""
    url = settings.LLM_URL
    if not url:
        return None
    body = {
        "model": settings.LLM_MODEL,
        "temperature": 0,
        "max_tokens": 10,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Subject: {subject[:300]}\n\n{text[:MAX_PROMPT_TEXT]}"},
        ],
    }
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if settings.LLM_API_KEY:
        headers["Authorization"] = f"Bearer {settings.LLM_API_KEY}"
    request = urllib.request.Request(
        endpoint(url), data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with _opener.open(request, timeout=settings.LLM_TIMEOUT_SECONDS) as response:
            if response.status != 200:
                raise ValueError(f"status {response.status}")
            raw = response.read(MAX_RESPONSE_BYTES + 1)
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ValueError("response too large")
        content = json.loads(raw)["choices"][0]["message"]["content"]
        if not isinstance(content, str):
            raise ValueError("no text in the answer")
    except urllib.error.HTTPError as error:
        logger.warning("llm_fallback host=%s reason=status %s", _host(url), error.code)
        return None
    except Exception as error:  # anything at all: the offline classifier answers instead
        logger.warning("llm_fallback host=%s reason=%s", _host(url), type(error).__name__)
        return None
    found = parse_answer(content)
    if found is None:
        logger.warning("llm_fallback host=%s reason=unknown label", _host(url))
    return found
