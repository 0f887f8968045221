"""Move the vault from server-held signer keys to the registered offline approvers: one
SignerListSet naming their accounts, multisigned by 2 of the current server signers; then the
server's signer keys are retired. Prints the vault's new SignerList as JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from channels_app.exceptions import DropgateError
from channels_app.payouts.services.approvers import vault_custody_migrate


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--account",
            action="append",
            dest="accounts",
            help="an approver's account (repeat; default: every registered approver)",
        )
        parser.add_argument("--actor", default="manage.py vault_custody_migrate")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = vault_custody_migrate(accounts=options["accounts"], by=options["actor"])
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(json.dumps(result))
