"""The watchtower's health and metrics as JSON. Exits 1 when it is unhealthy.

Unhealthy: a channel fails its integrity check, a deadline is nearer than the alert margin
with value unredeemed and no settlement in flight, a watched channel has not been checked
for too long (the worker or beat is down), or a critical alert is open.
"""

from __future__ import annotations

import json
import sys
from typing import Any, cast

from django.core.management.base import BaseCommand

from channels_app import ledger
from channels_app.exceptions import LedgerUnavailable
from channels_app.services.watchtower import watchtower_status


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ledger_now: int | None = ledger.validated_ledger().close_time
        except LedgerUnavailable:
            ledger_now = None
        status = watchtower_status(ledger_now=ledger_now)
        if ledger_now is None:
            # Without the ledger the watchtower can neither see closes nor redeem claims.
            status["problems"] = [*cast(list[str], status["problems"]), "ledger_unavailable"]
            status["healthy"] = False
        self.stdout.write(json.dumps(status, indent=2, default=str))
        if not status["healthy"]:
            sys.exit(1)
