"""`manage.py keys_rotate --purpose settlement|access_token`: rotate a platform key now.

settlement: a new regular key is set on the ledger (SetRegularKey signed by the current one);
the old key is retired once the change validates. access_token: the next signing key (the
pre-published one if there is one, else a new key) is active at once, skipping the
pre-publication wait, as an emergency needs; the old one stays in the JWKS for
DROPGATE_KEY_OVERLAP_SECONDS. With `--prepublish` (access_token only) the next key is only
published, and the scheduled rotation promotes it after DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS.
Prints the outcome as JSON (key ids and public keys only). Each step is recorded as a KeyEvent.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_app.exceptions import DropgateError
from channels_app.keys.services import (
    settlement_key_rotate,
    token_key_prepublish,
    token_key_rotate,
)
from channels_app.keys.types import KeyInfo, RotationOutcome


def default_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--purpose", required=True, choices=["settlement", "access_token"])
        parser.add_argument("--reason", default="on demand")
        parser.add_argument("--actor", default=None, help="who asked (for the audit trail)")
        parser.add_argument(
            "--prepublish",
            action="store_true",
            help="access_token: publish the next key now; the scheduled rotation promotes it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = options["actor"] or default_actor()
        if options["prepublish"] and options["purpose"] != "access_token":
            raise CommandError("--prepublish applies to --purpose access_token only")
        outcome: KeyInfo | RotationOutcome
        try:
            if options["prepublish"]:
                outcome = token_key_prepublish(actor=actor, reason=options["reason"])
            elif options["purpose"] == "settlement":
                outcome = settlement_key_rotate(actor=actor, reason=options["reason"])
            else:
                outcome = token_key_rotate(actor=actor, reason=options["reason"])
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(json.dumps(asdict(outcome), default=str))
