"""Rebuild channel state from the ledger and the stored signed claims (after a database restore).

Prints a JSON report of what changed. Exits 0 when every known channel was rebuilt (or needed
nothing), 1 when some channel could not be rebuilt, 2 when the ledger cannot be reached.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from channels_app.exceptions import DropgateError
from channels_app.services.recovery import channels_recover
from channels_app.signatures import MalformedInput, parse_channel_id


def _owner(value: str) -> tuple[str, str]:
    channel_id, sep, owner_ref = value.partition("=")
    if not sep or not owner_ref:
        raise CommandError(f"--owner takes CHANNEL_ID=OWNER_REF, not {value!r}")
    return _channel(channel_id), owner_ref


def _channel(value: str) -> str:
    try:
        return parse_channel_id(value).hex().upper()
    except MalformedInput as exc:
        raise CommandError(f"--channel: {exc.reason}") from exc


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--channel", help="Rebuild only this channel (64 hex digits).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write nothing."
        )
        parser.add_argument(
            "--owner",
            action="append",
            default=[],
            metavar="CHANNEL_ID=OWNER_REF",
            help=(
                "The owner (pseudonymous reader id) of a channel whose row is gone or failed its "
                "check; the ledger does not know owners. Repeatable."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        channel_id = _channel(options["channel"]) if options["channel"] else None
        owners = dict(_owner(value) for value in options["owner"])
        try:
            report = channels_recover(
                channel_id=channel_id, dry_run=options["dry_run"], owner_refs=owners
            )
        except DropgateError as exc:
            self.stderr.write(f"cannot recover: {exc.code}: {exc.message}")
            sys.exit(2)
        self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
        if not report.ok:
            sys.exit(1)
