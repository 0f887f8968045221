"""Prepare the SignerListSet that replaces one vault approver by a registered one. The server
cannot sign it: the current approvers sign it offline (vault_request_export, then
vault_signature_submit). Prints the signing request's reference."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from channels_app.exceptions import DropgateError
from channels_app.payouts.services.approvers import vault_approver_replace


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--retiring", required=True, help="the account leaving the list")
        parser.add_argument("--joining", required=True, help="the registered account joining it")
        parser.add_argument("--actor", default="manage.py vault_approver_replace")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            request = vault_approver_replace(
                retiring=options["retiring"], joining=options["joining"], by=options["actor"]
            )
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            json.dumps(
                {
                    "ref": request.ref,
                    "last_ledger_sequence": request.last_ledger_sequence,
                    "summary": request.summary,
                }
            )
        )
