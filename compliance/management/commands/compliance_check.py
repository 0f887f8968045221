"""The compliance decision for one charge, as one JSON object on stdout (the contract of
DESIGN.md "Compliance check"). Needs no database and never touches one.

    manage.py compliance_check --country DE [--region XX-YY] [--ip A.B.C.D] [--timezone Z]
        [--amount-drops N] [--category standard|e_publication] [--date YYYY-MM-DD]

`--country` is the country the reader declares; alone, it is the evidence. Exit 0 on any
decision (allow, block, confirm_country); exit 2 with `malformed: <reason>` on stderr for
input that does not parse.
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys
from datetime import date
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_app import clock
from compliance.decisions import decide, evidence_build
from compliance.geo import is_country, is_region, is_timezone
from compliance.rules import CATEGORIES, rulebook

DEFAULT_AMOUNT_DROPS = 1_000_000
MAX_DROPS = 2**64 - 1
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DROPS_RE = re.compile(r"^[0-9]{1,20}$")


class Malformed(Exception):
    pass


class _Parser(CommandParser):
    """Argument errors are `malformed: <reason>` with exit 2, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        if self.called_from_command_line:
            sys.stderr.write(f"malformed: {message}\n")
            sys.exit(2)
        raise CommandError(f"malformed: {message}", returncode=2)


def _country(raw: str) -> str:
    code = raw.strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", code) or not is_country(code):
        raise Malformed(f"--country {raw!r} is not an ISO 3166-1 alpha-2 country code")
    return code


def _parse(options: dict[str, Any]) -> dict[str, Any]:
    country = _country(options["country"])
    region = None
    if options.get("region") is not None:
        region = options["region"].strip().upper()
        if not is_region(region):
            raise Malformed(f"--region {options['region']!r} is not an ISO 3166-2 code (XX-YYY)")
        if region[:2] != country:
            raise Malformed(f"--region {region} is not a region of --country {country}")
    ip = options.get("ip")
    if ip is not None:
        try:
            ip = str(ipaddress.ip_address(ip.strip()))
        except ValueError as exc:
            raise Malformed(f"--ip {options['ip']!r} is not an IP address") from exc
    zone = options.get("timezone")
    if zone is not None and not is_timezone(zone):
        raise Malformed(f"--timezone {zone!r} is not an IANA time zone")
    raw_amount = options.get("amount_drops")
    amount = DEFAULT_AMOUNT_DROPS
    if raw_amount is not None:
        if not _DROPS_RE.match(raw_amount) or not 1 <= int(raw_amount) <= MAX_DROPS:
            raise Malformed(f"--amount-drops {raw_amount!r} is not an integer from 1 to 2^64-1")
        amount = int(raw_amount)
    category = options.get("category") or "standard"
    if category not in CATEGORIES:
        raise Malformed(f"--category {category!r} is not one of {', '.join(CATEGORIES)}")
    raw_date = options.get("date")
    on = clock.now().date()
    if raw_date is not None:
        if not _DATE_RE.match(raw_date):
            raise Malformed(f"--date {raw_date!r} is not YYYY-MM-DD")
        try:
            on = date.fromisoformat(raw_date)
        except ValueError as exc:
            raise Malformed(f"--date {raw_date!r} is not a calendar date") from exc
    return {
        "country": country,
        "region": region,
        "ip": ip,
        "timezone": zone,
        "amount": amount,
        "category": category,
        "on": on,
    }


class Command(BaseCommand):
    help = __doc__
    # No system checks, no migrations check: the command must run with no database at all.
    requires_system_checks: list[str] = []  # type: ignore[assignment]
    requires_migrations_checks = False

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = _Parser  # same parser, with malformed-input errors (exit 2)
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--country", required=True, help="Declared country (ISO 3166-1).")
        parser.add_argument("--region", help="Declared region (ISO 3166-2, e.g. UA-43, CA-ON).")
        parser.add_argument("--ip", help="The reader's IP address (looked up offline, not kept).")
        parser.add_argument("--timezone", help="IANA time zone the SDK reports.")
        parser.add_argument("--amount-drops", help="Tax-inclusive price in drops (1000000).")
        parser.add_argument("--category", help="standard (default) or e_publication.")
        parser.add_argument("--date", help="Evaluate the rules in force on this day (today).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            parsed = _parse(options)
        except Malformed as exc:
            if getattr(self, "_called_from_command_line", False):
                sys.stderr.write(f"malformed: {exc}\n")
                sys.exit(2)
            raise CommandError(f"malformed: {exc}", returncode=2) from exc
        evidence = evidence_build(
            declared_country=parsed["country"],
            declared_region=parsed["region"],
            ip=parsed["ip"],
            timezone=parsed["timezone"],
        )
        decision = decide(
            rulebook(),
            evidence,
            amount_drops=parsed["amount"],
            category=parsed["category"],
            on=parsed["on"],
        )
        self.stdout.write(json.dumps(decision.as_json(), sort_keys=False))
