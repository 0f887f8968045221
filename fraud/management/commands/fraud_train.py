"""Retrain the mouse-dynamics bot model and rewrite its artifact.

    python manage.py fraud_train [--out fraud/model] [--seed 1] [--humans DIR]

Deterministic for a seed (same data, same trees). Prints the cross-validated metrics as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fraud.model import MODEL_DIR


class Command(BaseCommand):
    help = "Retrain the bot model (SapiMouse humans vs generated bots) and write the artifact."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, default=MODEL_DIR)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--humans", type=Path, default=None)
        parser.add_argument(
            "--model-version", default=None, help="default: mouse-hgb-s<seed>-<sha256 prefix>"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from fraud.training import artifact_write, model_train

        humans = Path(opts["humans"] or settings.DROPGATE_SAPIMOUSE_DIR)
        if not humans.is_dir():
            raise CommandError(f"human traces not found at {humans} (DROPGATE_SAPIMOUSE_DIR)")
        result = model_train(humans_dir=humans, seed=opts["seed"])
        path, version = artifact_write(result, Path(opts["out"]), version=opts["model_version"])
        self.stdout.write(
            json.dumps(
                {
                    "model": str(path),
                    "version": version,
                    "threshold": result.threshold,
                    **result.metrics,
                },
                indent=2,
            )
        )
