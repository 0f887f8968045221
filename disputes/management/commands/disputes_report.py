"""`python manage.py disputes_report --period YYYY-MM [--store]`: the month's dispute report as
one JSON object (see disputes.services.reports). `--store` also keeps it for the admin."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_app.exceptions import DropgateError
from disputes.services.reports import disputes_report, disputes_report_store, previous_period


class Command(BaseCommand):
    help = "Print the dispute report of a month (outcome rates, automation, appeals, cost)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", default="", help="YYYY-MM (default: last month).")
        parser.add_argument("--store", action="store_true", help="Keep it for the admin too.")

    def handle(self, *args: Any, **options: Any) -> None:
        period = options["period"] or previous_period()
        try:
            report = (
                disputes_report_store(period=period).data
                if options["store"]
                else disputes_report(period=period)
            )
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}", returncode=2) from exc
        self.stdout.write(json.dumps(report, sort_keys=True))
