"""Record one exchange rate with its source, e.g. the XRP/EUR market rate of a day.

    manage.py fx_rate_record --base XRP --quote EUR --rate 0.5123 --date 2026-09-30 \
        --source "Bitstamp XRP/EUR close"
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand

from compliance.services.fx import FxImportError, fx_rate_record


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--base", default="XRP")
        parser.add_argument("--quote", default="EUR")
        parser.add_argument("--rate", required=True, help="Units of quote per 1 base.")
        parser.add_argument("--date", required=True, help="YYYY-MM-DD")
        parser.add_argument("--source", required=True, help="Where the rate comes from.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            row = fx_rate_record(
                base=options["base"],
                quote=options["quote"],
                rate=Decimal(options["rate"]),
                as_of=date.fromisoformat(options["date"]),
                source=options["source"],
            )
        except (FxImportError, InvalidOperation, ValueError) as exc:
            self.stderr.write(f"invalid: {exc}")
            sys.exit(2)
        self.stdout.write(str(row))
