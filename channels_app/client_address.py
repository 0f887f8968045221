"""The client's address, behind proxies the deployment trusts (DROPGATE_TRUSTED_PROXIES).

Rate limits (the API's throttles, new telemetry sessions per address), location evidence and
fraud signals key on it. The peer's address (REMOTE_ADDR, or an ASGI scope's `client`) is the
client unless the peer is one of the trusted proxies: then X-Forwarded-For is read from the
right, skipping trusted hops, and the first untrusted hop is the client. Hops to the left of it
were written by whoever the client is, so they are never believed. Nothing is trusted by default.

It lives in channels_app, which every app may use, so the fraud app's socket and the paywall's
doors agree on one rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings

__all__ = ["client_address", "client_address_of_meta", "client_address_of_scope", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDR blocks (or single addresses); raises ValueError naming the first bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"not an address or CIDR block: {value!r}") from exc
    return tuple(networks)


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def _trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(getattr(settings, "DROPGATE_TRUSTED_PROXIES", ()) or ()))


def _address(text: str) -> Address | None:
    """An address as proxies write it: bare, `[v6]`, `[v6]:port` or `v4:port`."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_address(peer: str, forwarded_for: Iterable[str] = ()) -> str:
    """The client's address: `peer`, or the rightmost untrusted X-Forwarded-For hop when `peer`
    is a trusted proxy. `forwarded_for` holds the X-Forwarded-For header values in order."""
    networks = _trusted_networks()
    peer_address = _address(peer)
    if not networks or peer_address is None or not _trusted(peer_address, networks):
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    nearest = peer_address
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # A trusted proxy never writes garbage: the header is not what it should be, so
            # stop at the last address a trusted hop vouched for.
            return str(nearest)
        if not _trusted(address, networks):
            return str(address)
        nearest = address
    return str(nearest)


def client_address_of_meta(meta: Mapping[str, Any]) -> str:
    """The client's address of a Django request (its META)."""
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    return client_address(str(meta.get("REMOTE_ADDR") or ""), [forwarded] if forwarded else [])


def client_address_of_scope(scope: Mapping[str, Any]) -> str:
    """The client's address of an ASGI connection (a websocket's scope)."""
    client = scope.get("client") or ("", 0)
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers") or ()
        if name == b"x-forwarded-for"
    ]
    return client_address(str(client[0] or ""), forwarded)
