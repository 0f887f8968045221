"""Create the platform keys and make sure the settlement account is funded and journaled."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from channels_app.exceptions import DropgateError
from channels_app.services.platform import platform_bootstrap


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--faucet-drops", type=int, default=1_000_000_000)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = platform_bootstrap(faucet_drops=options["faucet_drops"])
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(json.dumps(result))
