"""The XRPL network agents pay on, as x402 names it: `xrpl:<NetworkID>` (CAIP-2)."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from agents.exceptions import NetworkUnknown
from channels_app import ledger

_CACHE_KEY = "dropgate:agents:network_id"
_CACHE_SECONDS = 3600


def network_id() -> int:
    """XRPL_NETWORK_ID when set, else the ledger's own (server_info `network_id`, cached).

    A server that reports none is a network from before the field (mainnet, or a standalone
    rippled without [network_id]): 0. Raises NetworkUnknown when the ledger cannot be asked.
    """
    configured = str(settings.XRPL_NETWORK_ID).strip()
    if configured:
        return int(configured)
    cached = cache.get(_CACHE_KEY)
    if isinstance(cached, int):
        return cached
    try:
        info = ledger.ledger_request("server_info").get("info", {})
    except Exception as exc:  # LedgerUnavailable, or an error answer: not known yet
        raise NetworkUnknown() from exc
    value = info.get("network_id", 0)
    if not isinstance(value, int) or value < 0:
        raise NetworkUnknown()
    cache.set(_CACHE_KEY, value, _CACHE_SECONDS)
    return value


def x402_network() -> str:
    return f"xrpl:{network_id()}"
