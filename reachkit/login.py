"""The admin login, limited: failed attempts are counted per address and per username.

Past REACHKIT_LOGIN_FAILURE_RATE failures in a window, every attempt from that address or
for that username is refused, the right password too, until the window ends. Each attempt
is counted before the password is checked and taken back when it succeeds, so parallel
guesses cannot slip past the count.
"""

import math
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm

from reachkit import ratelimit
from reachkit.text import plural


class LimitedAdminLoginForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "too_many_failures": (
            "Too many failed logins for this username or from this address. Try again in %(wait)s."
        ),
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()  # a required field is missing: no login is attempted
        assert self.request is not None  # the admin's login view always passes it
        verdicts = [
            ratelimit.hit("admin-login-address", ratelimit.client_ip(self.request), self._rate),
            ratelimit.hit("admin-login-username", username.casefold(), self._rate),
        ]
        if not all(verdict.allowed for verdict in verdicts):
            wait = max(verdict.retry_after for verdict in verdicts if not verdict.allowed)
            raise forms.ValidationError(
                self.error_messages["too_many_failures"],
                code="too_many_failures",
                params={"wait": plural(math.ceil(wait / 60), "minute")},
            )
        cleaned = super().clean()  # raises on a wrong password, an inactive or non-staff user
        for verdict in verdicts:
            ratelimit.undo(verdict)
        return cleaned

    @property
    def _rate(self) -> str:
        return settings.LOGIN_FAILURE_RATE
