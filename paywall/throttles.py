"""Rate limits per reader, per publisher API key and per client IP.

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (scopes `reader`, `publisher`,
`anon`), read when a request is checked rather than at import, so they follow the settings.
Counters live in the default cache: Redis in production, so every web instance shares them.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from channels_app.client_address import client_address_of_meta
from paywall.models import PublisherApiKey, Reader

__all__ = ["IPRateThrottle", "PublisherRateThrottle", "ReaderRateThrottle", "ReadyzRateThrottle"]


class _ScopedThrottle(SimpleRateThrottle):
    cache_format = "dropgate:throttle:%(scope)s:%(ident)s"

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(str(self.scope))
        return None if rate is None else str(rate)

    def get_ident(self, request: Request) -> str:
        """The client's address: REMOTE_ADDR, or behind DROPGATE_TRUSTED_PROXIES the rightmost
        untrusted X-Forwarded-For hop (channels_app.client_address).

        DRF's default would trust a client-supplied X-Forwarded-For when NUM_PROXIES is
        unset, which lets a client pick a fresh identity per request.
        """
        return client_address_of_meta(request.META)

    def cache_key_for(self, ident: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class IPRateThrottle(_ScopedThrottle):
    """Requests that carry no reader or publisher credential, per client IP."""

    scope = "anon"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, (Reader, PublisherApiKey)):
            return None
        return self.cache_key_for(self.get_ident(request))


class ReaderRateThrottle(_ScopedThrottle):
    scope = "reader"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, Reader):
            return None
        return self.cache_key_for(request.auth.public_id)


class PublisherRateThrottle(_ScopedThrottle):
    scope = "publisher"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, PublisherApiKey):
            return None
        return self.cache_key_for(str(request.auth.publisher_id))


class ReadyzRateThrottle(_ScopedThrottle):
    """/readyz per client address: each call costs a database, cache and ledger round trip."""

    scope = "readyz"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_key_for(self.get_ident(request))
