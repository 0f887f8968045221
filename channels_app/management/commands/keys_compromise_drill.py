"""`manage.py keys_compromise_drill --purpose settlement|access_token [--key-id ID]`.

Treats the key (the active one by default) as stolen: pauses payouts, revokes the key,
re-keys (settlement: a new regular key on the ledger, so the old one is refused with
tefBAD_AUTH; access_token: out of the JWKS, its grants refused, a new key signs at once,
skipping pre-publication, and a pre-published next key is revoked too), and prints
a JSON report of what that key signed. Payouts stay paused until an administrator resumes
them (`keys.services.payouts_resume`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_app.exceptions import DropgateError
from channels_app.keys.services import key_compromise_drill
from channels_app.management.commands.keys_rotate import default_actor


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--purpose", required=True, choices=["settlement", "access_token"])
        parser.add_argument("--key-id", default=None, help="the suspected key (default: active)")
        parser.add_argument("--reason", default="compromise drill")
        parser.add_argument("--actor", default=None, help="who ran it (for the audit trail)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = key_compromise_drill(
                purpose=options["purpose"],
                key_id=options["key_id"],
                actor=options["actor"] or default_actor(),
                reason=options["reason"],
            )
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(json.dumps(asdict(report), default=str, indent=2))
