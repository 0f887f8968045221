"""Write synthetic bot mouse traces (SapiMouse CSV) for training and evaluating the bot model.

    python manage.py fraud_bot_traces --out fraud/training_data/bots_heldout --kind minjerk \\
        --count 8 --seed 2 --profile heldout

Each kind goes to OUT/<kind>/<profile>-s<seed>-NNN.csv. Kinds: minjerk, bezier, humanised
(pure Python, deterministic for a seed) and playwright (recorded in Chromium; needs
/usr/bin/chromium). ghost-cursor traces come from the Node tool
`node static/js/tools/ghost_cursor_traces.mjs` (see its header).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fraud.botgen.kinds import BOT_KINDS
from fraud.botgen.session import PROFILES

KINDS = (*sorted(BOT_KINDS), "playwright")


class Command(BaseCommand):
    help = "Write synthetic bot mouse traces (SapiMouse CSV form)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument("--kind", action="append", choices=(*KINDS, "all"), required=True)
        parser.add_argument("--count", type=int, default=10)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--profile", choices=sorted(PROFILES), default="train")
        parser.add_argument("--chromium", default="/usr/bin/chromium")

    def handle(self, *args: Any, **opts: Any) -> None:
        kinds = KINDS if "all" in opts["kind"] else tuple(dict.fromkeys(opts["kind"]))
        if opts["count"] < 1:
            raise CommandError("--count must be at least 1")
        for kind in kinds:
            out = Path(opts["out"]) / kind
            if kind == "playwright":
                from fraud.botgen.browser import playwright_record

                if not Path(opts["chromium"]).exists():
                    raise CommandError(f"playwright needs Chromium at {opts['chromium']}")
                paths = playwright_record(
                    out, count=opts["count"], seed=opts["seed"], profile=opts["profile"],
                    executable=opts["chromium"],
                )  # fmt: skip
            else:
                from fraud.botgen.python_bots import bots_write

                paths = bots_write(
                    out, kind=kind, count=opts["count"], seed=opts["seed"], profile=opts["profile"]
                )
            self.stdout.write(f"{kind}: {len(paths)} files in {out}")
