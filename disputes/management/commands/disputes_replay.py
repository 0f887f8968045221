"""`python manage.py disputes_replay SCENARIO.json`: replay a dispute scenario through the real
services on a throwaway database and its own sandbox ledger; print one JSON object.

The input and output forms are those of the disputes issue (see disputes.replay.scenario and
the README). Exit 0 with the JSON (refused events are listed in `errors`); exit 2 for a
scenario that cannot be read; exit 1 if the replay itself failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from disputes.replay.scenario import ScenarioError, parse


class Command(BaseCommand):
    help = "Replay a dispute scenario on a throwaway database and sandbox ledger (JSON out)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scenario", help="The scenario file (JSON).")
        parser.add_argument("--verbose", action="store_true", help="Trace each event on stderr.")
        parser.add_argument("--keep", action="store_true", help="Keep the temporary directory.")
        parser.add_argument("--inner", metavar="WORKDIR", default="", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["scenario"])
        try:
            parse(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, ScenarioError) as exc:
            raise CommandError(f"malformed scenario: {exc}", returncode=2) from exc
        if options["inner"]:
            from disputes.replay.environment import replay_cache_dir
            from disputes.replay.runner import run

            output = run(
                path,
                workdir=Path(options["inner"]),
                cache_dir=replay_cache_dir(),
                verbose=options["verbose"],
            )
            self.stdout.write(json.dumps(output))
            return
        from disputes.replay.environment import replay

        code, out, err = replay(path, verbose=options["verbose"], keep=options["keep"])
        if options["verbose"] or code != 0:
            sys.stderr.write(err)
        if code != 0:
            raise CommandError(f"the replay failed (exit {code})", returncode=1)
        self.stdout.write(out.strip())
