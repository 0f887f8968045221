"""Import the ECB's euro reference rates from an eurofxref file (XML or CSV), or a URL.

manage.py fx_import_ecb PATH_OR_URL
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from compliance.services.fx import FxImportError, fx_import_ecb


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("location", help="eurofxref-daily.xml, eurofxref-hist.csv, … or a URL")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = fx_import_ecb(location=options["location"])
        except (FxImportError, OSError) as exc:
            self.stderr.write(f"fx_import_invalid: {exc}")
            sys.exit(2)
        self.stdout.write(
            f"imported {result.rates} rates for {result.dates} days "
            f"({result.first}..{result.last}), {result.created} new"
        )
