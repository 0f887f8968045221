"""Run the AML monitoring rules once (beat runs them hourly) and print what they found."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from compliance.services.monitoring import monitoring_scan


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = monitoring_scan()
        self.stdout.write(json.dumps({"hits": outcome.hits, "opened": outcome.opened}))
