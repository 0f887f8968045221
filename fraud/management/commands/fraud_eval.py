"""Evaluate the shipped bot model on directories of mouse traces (SapiMouse CSV form).

    python manage.py fraud_eval --humans DIR --bots DIR

Prints exactly one JSON object: tpr, fpr, auc, threshold (the model's own, never tuned on the
input), model_version, counts and files (path, label, score, verdict, moves[, error]) for every
*.csv found recursively. Files that can't be parsed or have fewer than the model's min_moves
are listed with `error`, get no score, and count as not flagged (a miss for a bot, a true
negative for a human). A missing directory prints {"error": ...} and exits 2. No database.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Score mouse-trace directories with the shipped bot model; print one JSON object."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--humans", required=True, type=Path)
        parser.add_argument("--bots", required=True, type=Path)

    def handle(self, *args: Any, **opts: Any) -> None:
        from fraud.model import BotModelError, bot_model
        from fraud.training import directories_evaluate

        dirs = {name: Path(opts[name]) for name in ("humans", "bots")}
        for name, path in dirs.items():
            if not path.is_dir():
                self._fail(f"--{name} directory not found: {path}", "missing_directory")
        try:
            model = bot_model()
        except BotModelError as exc:
            self._fail(str(exc), "model_invalid")
        result = directories_evaluate(humans=dirs["humans"], bots=dirs["bots"], model=model)
        self.stdout.write(json.dumps(result))

    def _fail(self, message: str, code: str) -> None:
        self.stdout.write(json.dumps({"error": {"code": code, "message": message}}))
        self.stdout.flush()
        sys.exit(2)
