"""Compare payouts, sweeps, refunds and credits with the journal and the ledger. Exit 1 on any
difference; every difference is printed, none is corrected."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from channels_app.exceptions import DropgateError
from channels_app.payouts.services.reconcile import payouts_reconcile


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--skip-ledger-transactions",
            action="store_true",
            help="check balances and the journal only, not each transaction on the ledger",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = payouts_reconcile(
                check_ledger_transactions=not options["skip_ledger_transactions"]
            )
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(json.dumps({"ok": report.ok, "differences": report.differences}))
        if not report.ok:
            raise SystemExit(1)
