"""`manage.py keys_status`: the platform's keys (public parts only), what the ledger
authorises for the settlement account, and whether payouts are paused. JSON on stdout.

With `--sync`, a rotation left pending by an outage is resolved against the ledger first.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from channels_app.exceptions import DropgateError
from channels_app.keys.services import (
    keys_list,
    payouts_paused,
    settlement_key_status,
    settlement_regular_key_sync,
)


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sync", action="store_true", help="resolve pending rotations first")

    def handle(self, *args: Any, **options: Any) -> None:
        ledger_view: dict[str, Any]
        try:
            status = (
                settlement_regular_key_sync(actor="cli:keys_status")
                if options["sync"]
                else settlement_key_status()
            )
            ledger_view = asdict(status)
        except DropgateError as exc:
            ledger_view = {"error": exc.code}
        self.stdout.write(
            json.dumps(
                {
                    "keys": [asdict(info) for info in keys_list()],
                    "settlement_account": ledger_view,
                    "payouts_paused": payouts_paused(),
                },
                default=str,
                indent=2,
            )
        )
