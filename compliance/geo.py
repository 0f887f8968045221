"""Offline geography: ISO 3166 codes, IP address → country, time zone → country, language tag →
country. No network and no database, ever.

- Countries and their names come from the IANA time zone database's `iso3166.tab`, and time
  zones' countries from its `zone.tab` (one country per zone, incl. zones that are links
  today, such as Europe/Oslo), both as shipped in the pinned `tzdata` package.
- IP countries come from `iptocc` (MIT/Apache-2.0, pinned): the Regional Internet Registries'
  delegation files, embedded in the wheel. They give the country a block was *assigned* to,
  which agrees with commercial geolocation for about 95 % of IPv4 addresses (the package's
  own note); an IP is one piece of evidence, never the only word.
- The IP address itself is only looked up here, never stored or logged.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import zoneinfo
from importlib import resources

from iptocc import country_code as _iptocc_country

__all__ = [
    "countries",
    "country_name",
    "ip_country",
    "is_country",
    "is_region",
    "is_timezone",
    "language_country",
    "timezone_country",
]

REGION_RE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")
_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")


def _tab(name: str) -> list[list[str]]:
    text = (resources.files("tzdata") / "zoneinfo" / name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@functools.cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code → English short name."""
    return {row[0]: row[1] for row in _tab("iso3166.tab")}


@functools.cache
def _zone_countries() -> dict[str, str]:
    return {row[2]: row[0] for row in _tab("zone.tab")}


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_country(code: object) -> bool:
    return isinstance(code, str) and code in countries()


def is_region(code: object) -> bool:
    """An ISO 3166-2 code's shape (XX-YYY) with an ISO 3166-1 country part."""
    return isinstance(code, str) and bool(REGION_RE.match(code)) and code[:2] in countries()


def is_timezone(name: object) -> bool:
    return isinstance(name, str) and name in _timezones()


def country_name(code: str) -> str:
    return countries().get(code, code)


def timezone_country(name: str | None) -> str | None:
    """The country of an IANA zone from zone.tab, or None (UTC, Etc/…, unknown names)."""
    if not name:
        return None
    return _zone_countries().get(name)


def ip_country(address: str | None) -> str | None:
    """The country an IP address's block is delegated to, or None for private, loopback,
    reserved or unparseable addresses and blocks the registries give no country."""
    if not address:
        return None
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if not parsed.is_global:
        return None
    code = _iptocc_country(str(parsed))
    return code if is_country(code) else None


def language_country(tag: str | None) -> str | None:
    """The region subtag of a BCP 47 language tag (`de-AT` → AT), or None (`de`, `es-419`)."""
    if not tag or len(tag) > 35 or not _LANGUAGE_RE.match(tag):
        return None
    for part in re.split(r"[-_]", tag)[1:]:
        if len(part) == 2 and part.isalpha():
            code = part.upper()
            return code if is_country(code) else None
    return None
