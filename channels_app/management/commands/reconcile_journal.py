"""Compare the journal with the ledger. Exits 1 and lists every difference if they disagree."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from channels_app.exceptions import DropgateError
from channels_app.services.platform import journal_reconcile


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = journal_reconcile()
        except DropgateError as exc:
            self.stderr.write(f"cannot reconcile: {exc.code}: {exc.message}")
            sys.exit(2)
        for difference in report.differences:
            self.stdout.write(f"DIFFERENCE {difference}")
        if not report.ok:
            self.stdout.write(f"reconciliation FAILED: {len(report.differences)} difference(s)")
            sys.exit(1)
        self.stdout.write(f"reconciled: {report.checked_channels} channel(s), no differences")
