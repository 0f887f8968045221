"""Create, fund (sandbox faucet) and lock down the vault: 2-of-3 SignerList, master key disabled."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from channels_app.exceptions import DropgateError
from channels_app.payouts.services.vault import VAULT_FAUCET_DROPS, vault_bootstrap


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--faucet-drops", type=int, default=VAULT_FAUCET_DROPS)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = vault_bootstrap(faucet_drops=options["faucet_drops"])
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(json.dumps(result))
