"""API-key authentication: `Authorization: Bearer`, `X-API-Key` or `?api_key=`."""

from dataclasses import dataclass

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from reachkit.api.throttling import count_unauthenticated
from reachkit.models import ApiKey, Workspace, parse_api_key
from reachkit.services import api_key_touch

QUERY_PARAM = "api_key"


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """Who is calling: a workspace, through one of its keys. Stands in for `request.user`."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False

    @property
    def workspace(self) -> Workspace:
        return self.api_key.workspace

    @property
    def pk(self) -> str:
        return str(self.api_key.pk)


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        return token.strip()
    header_key = request.headers.get("X-API-Key")
    if header_key is not None:
        return header_key.strip()
    return request.query_params.get(QUERY_PARAM)


class ApiKeyAuthentication(BaseAuthentication):
    """A valid key authenticates; anything else counts against the client's address."""

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        try:
            raw_key = _presented_key(request)
            if raw_key is None:
                count_unauthenticated(request)
                return None
            api_key = _verified(raw_key)
        except exceptions.AuthenticationFailed:
            count_unauthenticated(request)  # past the rate, a 429 instead of the 401
            raise
        api_key_touch(api_key=api_key)
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def _verified(raw_key: str) -> ApiKey:
    prefix = parse_api_key(raw_key)
    if prefix is None:
        raise exceptions.AuthenticationFailed("Malformed API key.")
    api_key = ApiKey.objects.active().select_related("workspace").filter(prefix=prefix).first()
    if api_key is None or not api_key.matches(raw_key):
        raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
    return api_key
