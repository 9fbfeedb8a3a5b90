"""One POST to a tenant's webhook URL, within the address policy, and what came of it.

A tenant picks the URL, so it goes through the policy every outbound connection a tenant
points us at goes through (reachkit/netguard.py): the host is resolved once, every address
must be public (loopback, private, link-local, CGNAT… refused, unless
REACHKIT_WEBHOOK_ALLOW_PRIVATE opens the private ones for a self-hoster's own network;
cloud metadata addresses never), and the request goes to the checked address, not to the
name again, so DNS rebinding cannot move it. The name still travels as `Host` and as the
TLS server name, so certificates are verified against it. No redirect is followed, no
proxy from the environment is used, and `WEBHOOK_TIMEOUT_SECONDS` bounds the whole attempt:
every connect, read and write waits only for what is left of it (httpx's timeouts bound each
read alone, so a receiver dripping its answer a byte at a time would hold the worker for good).
"""

import ipaddress
import re
import ssl
import time
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpcore
import httpx
from django.conf import settings

from reachkit import netguard

MAX_URL_LENGTH = 2000
# 1 to 65535.
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_HOST = f"{netguard.HOST_LABEL}(?:\\.{netguard.HOST_LABEL})*\\.?"
# After the host: a path or a query of printable ASCII, no space and no fragment (`#`).
_REST = '(?:[/?][!"$-~]*)?'
# What REACHKIT_WEBHOOK_ALLOW_PRIVATE opens: a self-hoster's own networks. Link-local
# (169.254.0.0/16, where cloud metadata lives) stays closed.
PRIVATE_NETWORKS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "::1/128",
    "fc00::/7",
)
# Cloud metadata services, refused whatever is allowed (some sit inside PRIVATE_NETWORKS).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
USER_AGENT = "Reachkit-Webhooks/1.0"
_RESPONSE_EXCERPT = 200
_READ_AT_MOST = 64 * 1024


class Outcome(StrEnum):
    DELIVERED = "delivered"  # a 2xx
    RETRY = "retry"  # worth trying again: timeout, connection error, 5xx, 408, 409, 429
    FAILED = "failed"  # never retried: another 4xx, a redirect, a refused address


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    code: int | None
    duration_ms: int
    error: str = ""
    retry_after: float | None = None  # seconds, from the answer's Retry-After


class UrlRefused(ValueError):
    """The URL may not be used (its form, its scheme, or where its host resolves to)."""


def allowed_networks() -> tuple[str, ...]:
    return PRIVATE_NETWORKS if settings.WEBHOOK_ALLOW_PRIVATE else ()


def url_pattern() -> str:
    """The form of a webhook URL, as the API document states it: `https://`, or `http://` too
    with WEBHOOK_ALLOW_HTTP (on with REACHKIT_DEBUG); a host name or an IPv4 address, an
    optional port, then a path or a query; printable ASCII, no credentials, no fragment."""
    scheme = "https?" if settings.WEBHOOK_ALLOW_HTTP else "https"
    return f"^{scheme}://{_HOST}(?::{_PORT})?{_REST}$"


def parse_url(raw: str) -> httpx.URL:
    """The URL, if its form is `url_pattern()`'s. Raises UrlRefused, saying what is wrong."""
    if len(raw) > MAX_URL_LENGTH:
        raise UrlRefused(f"At most {MAX_URL_LENGTH} characters.")
    if not raw.isascii() or any(not "!" <= char <= "~" for char in raw):
        raise UrlRefused("Spaces, control and non-ASCII characters are not allowed (use punycode).")
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError):
        raise UrlRefused("Not a valid URL.") from None
    allowed = ("https", "http") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
    if url.scheme not in allowed:
        raise UrlRefused(f"The URL must start with {' or '.join(f'{s}://' for s in allowed)}.")
    if not url.host:
        raise UrlRefused("The URL has no host.")
    if url.userinfo:
        raise UrlRefused("Credentials in the URL are not allowed; use a secret path or query.")
    if url.fragment or "#" in raw:
        raise UrlRefused("A fragment (#…) is not sent; leave it out.")
    if not re.fullmatch(url_pattern(), raw):
        raise UrlRefused(
            "Not a valid URL: a host name or an IPv4 address, an optional port (1 to 65535), "
            "then a path or a query."
        )
    return url


def destination(url: httpx.URL) -> netguard.IPAddress:
    """The address to connect to, checked against the policy. Raises UrlRefused when the
    host resolves to a refused address, netguard.HostNotFound or netguard.LookupFailed."""
    try:
        addresses = netguard.resolve_allowed(
            url.host, allowed=allowed_networks(), lifetime=settings.WEBHOOK_TIMEOUT_SECONDS
        )
    except netguard.AddressRefused as refused:
        raise UrlRefused(
            f"{url.host} resolves to {refused.address} ({refused.reason}); "
            "webhooks go to public addresses only."
        ) from None
    for address in addresses:
        if address in METADATA_ADDRESSES:
            raise UrlRefused(f"{url.host} resolves to {address} (cloud metadata).")
    return addresses[0]


# When the attempt under way must end (time.monotonic()); None outside `post`.
_DEADLINE: ContextVar[float | None] = ContextVar("webhook_attempt_deadline", default=None)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """The wait allowed for one network operation: its own timeout, cut to what is left of
    the attempt; `error` once nothing is."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the attempt's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(
                ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _Transport(httpx.HTTPTransport):
    """httpx's transport over the deadline-keeping network backend (httpx takes no backend,
    so its connection pool is replaced by one built alike, with httpx's default limits)."""

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(),
        )


def new_client() -> httpx.Client:
    """A client for a run of deliveries: no redirects, no proxies from the environment, and
    each attempt kept within WEBHOOK_TIMEOUT_SECONDS as a whole."""
    return httpx.Client(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(float(settings.WEBHOOK_TIMEOUT_SECONDS)),
        headers={"User-Agent": USER_AGENT},
        transport=_Transport(),
    )


def post(
    client: httpx.Client,
    raw_url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    checked: dict[str, netguard.IPAddress] | None = None,
) -> Attempt:
    """POST `body` to the URL and classify the answer. `checked`: addresses a run of
    deliveries already checked, by URL (a run looks its host up once, not per event)."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        url = parse_url(raw_url)
        address = checked.get(raw_url) if checked is not None else None
        if address is None:
            address = destination(url)
            if checked is not None:
                checked[raw_url] = address
    except UrlRefused as refused:
        return Attempt(Outcome.FAILED, None, took(), f"refused: {refused}")
    except netguard.HostNotFound:
        return Attempt(Outcome.RETRY, None, took(), f"{_host(raw_url)} does not resolve")
    except netguard.LookupFailed as failed:
        return Attempt(Outcome.RETRY, None, took(), f"DNS look-up failed: {failed}")
    target = url.copy_with(host=str(address))
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    request_headers = {
        **headers,
        "Host": url.netloc.decode("ascii"),
        "Content-Type": "application/json",
    }
    deadline = _DEADLINE.set(started + settings.WEBHOOK_TIMEOUT_SECONDS)
    try:
        with client.stream(
            "POST", target, content=body, headers=request_headers, extensions=extensions
        ) as response:
            excerpt = _excerpt(response)
            code = response.status_code
            retry_after = _retry_after(response.headers.get("Retry-After"))
    except httpx.TimeoutException:
        timeout = settings.WEBHOOK_TIMEOUT_SECONDS
        return Attempt(Outcome.RETRY, None, took(), f"no answer within {timeout} s")
    except httpx.HTTPError as error:
        return Attempt(Outcome.RETRY, None, took(), f"connection failed: {_describe(error)}")
    finally:
        _DEADLINE.reset(deadline)
    if 200 <= code < 300:
        return Attempt(Outcome.DELIVERED, code, took())
    message = f"HTTP {code}" + (f": {excerpt}" if excerpt else "")
    if 300 <= code < 400:
        location = _clean(response.headers.get("Location", ""))[:_RESPONSE_EXCERPT]
        return Attempt(
            Outcome.FAILED, code, took(), f"HTTP {code} redirect to {location!r} (not followed)"
        )
    if code >= 500 or code in (408, 409, 429):
        return Attempt(Outcome.RETRY, code, took(), message, retry_after)
    return Attempt(Outcome.FAILED, code, took(), message)


def _excerpt(response: httpx.Response) -> str:
    """The start of the answer's body. A short body is read to its end, so the connection
    is kept for the next delivery; a long one, or one past the attempt's deadline, is cut
    off (and its connection closed): the status line has answered already."""
    read = b""
    try:
        for chunk in response.iter_bytes():
            read += chunk
            if len(read) > _READ_AT_MOST:
                break
    except httpx.TimeoutException:
        pass
    if 200 <= response.status_code < 300:
        return ""
    return _clean(read[:_RESPONSE_EXCERPT].decode("utf-8", "replace"))


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a number of seconds or an HTTP date), None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 10**7))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _clean(text: str) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _describe(error: Exception) -> str:
    text = _clean(str(error)) or type(error).__name__
    return text[:_RESPONSE_EXCERPT]


def _host(raw_url: str) -> str:
    try:
        return httpx.URL(raw_url).host or raw_url
    except (httpx.InvalidURL, ValueError):
        return raw_url
