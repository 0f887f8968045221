"""Bearer credentials of the HTTP API. Never cookies, so CSRF does not apply.

- `Authorization: Reader rdt_…`  a reader (the snippet), request.auth is the Reader.
- `Authorization: Bearer dgk_…`  a publisher's server, request.auth is the PublisherApiKey.
- `Authorization: Bearer <jwt>`  an access grant; request.auth is the raw BearerGrant, which
  the content view verifies against the publisher and article in its URL.

request.user stays None: the API has no Django users.
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from channels_app.exceptions import DropgateError
from paywall.models import PublisherApiKey, Reader
from paywall.services.publishers import api_key_authenticate
from paywall.services.readers import reader_authenticate

__all__ = [
    "BearerGrant",
    "GrantAuthentication",
    "PublisherKeyAuthentication",
    "ReaderAuthentication",
]

_MAX_CREDENTIAL_CHARS = 4096


@dataclass(frozen=True)
class BearerGrant:
    token: str

    def __repr__(self) -> str:
        return "BearerGrant(…)"


def _credential(request: Request, keyword: str) -> str | None:
    """The credential after `keyword` in Authorization, or None if another scheme is used."""
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != keyword.lower().encode():
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed(
            f"Authorization must be '{keyword} <credential>'.", code="authorization_malformed"
        )
    try:
        credential = parts[1].decode("ascii")
    except UnicodeDecodeError as exc:
        raise exceptions.AuthenticationFailed(
            "The credential is not ASCII.", code="authorization_malformed"
        ) from exc
    if len(credential) > _MAX_CREDENTIAL_CHARS:
        raise exceptions.AuthenticationFailed(
            "The credential is too long.", code="authorization_malformed"
        )
    return credential


def _as_api_error(error: DropgateError) -> exceptions.APIException:
    if error.http_status == 401:
        return exceptions.AuthenticationFailed(error.message, code=error.code)
    return exceptions.PermissionDenied(error.message, code=error.code)


class ReaderAuthentication(BaseAuthentication):
    keyword = "Reader"

    def authenticate(self, request: Request) -> tuple[None, Reader] | None:
        token = _credential(request, self.keyword)
        if token is None:
            return None
        try:
            return None, reader_authenticate(token=token)
        except DropgateError as error:
            raise _as_api_error(error) from error

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="dropgate"'


class PublisherKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[None, PublisherApiKey] | None:
        token = _credential(request, self.keyword)
        if token is None:
            return None
        try:
            return None, api_key_authenticate(token=token)
        except DropgateError as error:
            raise _as_api_error(error) from error

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="dropgate-publisher"'


class GrantAuthentication(BaseAuthentication):
    """Picks up the grant; verifying it needs the URL's publisher and article (the view's job)."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[None, BearerGrant] | None:
        token = _credential(request, self.keyword)
        if token is None:
            return None
        return None, BearerGrant(token=token)

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="dropgate-content"'
