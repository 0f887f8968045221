"""Generate a tax return for one scheme and quarter, store it, and print it.

    manage.py tax_report --scheme oss --period 2026Q3 [--format csv|json] [--output FILE]

Schemes: oss (EU One-Stop-Shop, EUR), gb, no (VOEC), ch, au, nz, jp, sg, ca (local currency).
Exit 1 when no exchange rate is recorded for the period's last day, 2 on bad arguments.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from compliance.services.reports import FxUnavailable, ReportError, tax_report_generate


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--scheme", required=True)
        parser.add_argument("--period", required=True, help="A quarter, e.g. 2026Q3.")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")
        parser.add_argument("--output", help="Write to this file instead of stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = tax_report_generate(
                scheme=options["scheme"], period=options["period"], actor="manage.py tax_report"
            )
        except FxUnavailable as exc:
            self.stderr.write(f"{exc.code}: {exc.message}")
            sys.exit(1)
        except ReportError as exc:
            self.stderr.write(f"{exc.code}: {exc.message}")
            sys.exit(2)
        if options["format"] == "json":
            text = json.dumps(
                {
                    "scheme": report.scheme,
                    "period": report.period,
                    "currency": report.currency,
                    "fx": report.fx,
                    "rows": report.rows,
                    "totals": report.totals,
                    "rulebook_version": report.rulebook_version,
                },
                indent=2,
            )
        else:
            text = report.csv
        if options.get("output"):
            Path(options["output"]).write_text(text)
        else:
            self.stdout.write(text, ending="" if text.endswith("\n") else "\n")
        if not report.totals.get("journal_matches", False):
            self.stderr.write("journal check FAILED: the report's VAT differs from the journal's")
            sys.exit(1)
