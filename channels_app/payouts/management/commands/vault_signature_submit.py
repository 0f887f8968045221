"""Take an approver's offline signature file (from clients/approver) for an open vault signing
request; at the quorum the transaction is assembled, submitted and journaled. Prints where the
request stands as JSON; exit 1 with `code: message` when the signature is refused."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from channels_app.exceptions import DropgateError
from channels_app.payouts.services.approvers import vault_signature_submit


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("signature", help="the signature file")
        parser.add_argument("--actor", default="manage.py vault_signature_submit")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with open(options["signature"], encoding="utf-8") as handle:
                document = json.load(handle)
        except (OSError, ValueError) as exc:
            raise CommandError(f"signature_document_malformed: {exc}") from exc
        try:
            outcome = vault_signature_submit(document=document, by=options["actor"])
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            json.dumps(
                {
                    "ref": outcome.ref,
                    "kind": outcome.kind,
                    "account": outcome.account,
                    "signatures": outcome.signatures,
                    "quorum": outcome.quorum,
                    "status": outcome.status,
                    "tx_hash": outcome.tx_hash,
                }
            )
        )
