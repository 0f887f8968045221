"""Replace one vault payout signer (slot 1, 2 or 3) with a new key: a SignerListSet multisigned
by a quorum of the current signers, then the old key is retired. Prints the outcome as JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from channels_app.exceptions import DropgateError
from channels_app.payouts.services.signer_rotation import vault_signer_rotate


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--slot", type=int, required=True, choices=(1, 2, 3), help="signer 1, 2 or 3"
        )
        parser.add_argument("--reason", default="on demand")
        parser.add_argument("--actor", default="manage.py vault_signer_rotate")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            outcome = vault_signer_rotate(
                slot=options["slot"] - 1, reason=options["reason"], by=options["actor"]
            )
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            json.dumps(
                {
                    "vault": outcome.vault,
                    "slot": outcome.slot + 1,
                    "new_key_id": outcome.new_key_id,
                    "new_address": outcome.new_address,
                    "tx_hash": outcome.tx_hash,
                    "ledger_signers": list(outcome.ledger_signers),
                    "quorum": outcome.quorum,
                }
            )
        )
