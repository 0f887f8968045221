"""Exchange rates with their sources: the ECB's euro reference rates (eurofxref files) and the
XRP rates the platform records from a market source.

This machine has no network to the ECB: `fx_import_ecb` reads the ECB's own file formats
from a path (or a URL where one is reachable) — the daily or historical XML
(`eurofxref-daily.xml`, `eurofxref-hist.xml`) and CSV (`eurofxref.csv`, `eurofxref-hist.csv`).
XRP is not an ECB currency: its rate is recorded with `fx_rate_record` (admin or
`manage.py fx_rate_record`), naming the market source, and converted to EUR through the ECB
rate of the same day when it is quoted in another currency.
"""

from __future__ import annotations

import csv
import io
import re
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from xml.etree import ElementTree

from django.db import IntegrityError, transaction

from channels_app import clock
from compliance.exceptions import ComplianceError
from compliance.models import FxRate

__all__ = ["EcbImport", "fx_import_ecb", "fx_rate_record"]

ECB_SOURCE = "ECB euro foreign exchange reference rates (eurofxref)"
MAX_FILE_BYTES = 20 * 1024 * 1024
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class FxImportError(ComplianceError):
    code = "fx_import_invalid"
    http_status = 400


@dataclass(frozen=True)
class EcbImport:
    dates: int
    rates: int
    created: int
    first: date | None
    last: date | None


def _decimal(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise FxImportError(f"{where}: {text!r} is not a rate") from exc
    if value <= 0:
        raise FxImportError(f"{where}: a rate must be positive")
    return value


def _parse_xml(content: bytes) -> dict[date, dict[str, Decimal]]:
    head = content[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in head:
        raise FxImportError("the XML declares a DOCTYPE or entities: refused")
    try:
        root = ElementTree.fromstring(content)  # noqa: S314 - no DTDs (checked above), size-capped
    except ElementTree.ParseError as exc:
        raise FxImportError(f"not valid XML: {exc}") from exc
    found: dict[date, dict[str, Decimal]] = {}
    for element in root.iter():
        if not element.tag.endswith("Cube") or "time" not in element.attrib:
            continue
        day = date.fromisoformat(element.attrib["time"])
        rates = found.setdefault(day, {})
        for child in element:
            currency = child.attrib.get("currency", "")
            if _CURRENCY.match(currency):
                rates[currency] = _decimal(child.attrib.get("rate", ""), f"{day} {currency}")
    if not found:
        raise FxImportError("no <Cube time=…> elements: not an ECB eurofxref XML file")
    return found


def _csv_date(text: str) -> date:
    text = text.strip()
    for pattern in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise FxImportError(f"{text!r} is not a date")


def _parse_csv(content: bytes) -> dict[date, dict[str, Decimal]]:
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    rows = [[cell.strip() for cell in row] for row in reader if any(c.strip() for c in row)]
    if not rows or rows[0][0] != "Date":
        raise FxImportError("the first column must be 'Date': not an ECB eurofxref CSV file")
    header = rows[0]
    found: dict[date, dict[str, Decimal]] = {}
    for row in rows[1:]:
        day = _csv_date(row[0])
        rates = found.setdefault(day, {})
        for currency, cell in zip(header[1:], row[1:], strict=False):
            if _CURRENCY.match(currency) and cell and cell != "N/A":
                rates[currency] = _decimal(cell, f"{day} {currency}")
    return found


def _read(location: str) -> bytes:
    if re.match(r"^https?://", location):
        with urllib.request.urlopen(location, timeout=30) as response:  # noqa: S310 - http(s) only
            return bytes(response.read(MAX_FILE_BYTES + 1))
    path = Path(location)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise FxImportError("the file is larger than 20 MiB")
    return path.read_bytes()


def fx_import_ecb(*, location: str, source: str = ECB_SOURCE) -> EcbImport:
    """Import the ECB reference rates in an eurofxref file (XML or CSV, by content) as
    EUR-based rates. Idempotent: a (currency, day) already recorded from `source` is kept."""
    content = _read(location)
    if len(content) > MAX_FILE_BYTES:
        raise FxImportError("the file is larger than 20 MiB")
    stripped = content.lstrip()
    parsed = _parse_xml(content) if stripped.startswith(b"<") else _parse_csv(content)
    now = clock.now()
    rows = [
        FxRate(base="EUR", quote=currency, rate=rate, as_of=day, source=source, recorded_at=now)
        for day, rates in parsed.items()
        for currency, rate in rates.items()
    ]
    before = FxRate.objects.filter(base="EUR", source=source).count()
    with transaction.atomic():
        FxRate.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    created = FxRate.objects.filter(base="EUR", source=source).count() - before
    days = sorted(parsed)
    return EcbImport(
        dates=len(days),
        rates=len(rows),
        created=created,
        first=days[0] if days else None,
        last=days[-1] if days else None,
    )


def fx_rate_record(*, base: str, quote: str, rate: Decimal, as_of: date, source: str) -> FxRate:
    """Record one rate (e.g. base XRP, quote EUR: EUR per XRP) with its source. Idempotent per
    (base, quote, day, source); a different rate for the same key is refused."""
    base, quote = base.strip().upper(), quote.strip().upper()
    if not re.match(r"^[A-Z]{3,8}$", base) or not _CURRENCY.match(quote) or base == quote:
        raise FxImportError("base and quote are currency codes (e.g. XRP and EUR)")
    if rate <= 0:
        raise FxImportError("a rate must be positive")
    if not source.strip():
        raise FxImportError("name the rate's source")
    try:
        with transaction.atomic():
            return FxRate.objects.create(
                base=base,
                quote=quote,
                rate=rate,
                as_of=as_of,
                source=source.strip()[:200],
                recorded_at=clock.now(),
            )
    except IntegrityError:
        existing = FxRate.objects.get(
            base=base, quote=quote, as_of=as_of, source=source.strip()[:200]
        )
        if existing.rate != rate:
            raise FxImportError(
                f"{base}/{quote} on {as_of} from this source is already {existing.rate}"
            ) from None
        return existing
