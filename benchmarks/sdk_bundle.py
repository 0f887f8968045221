"""Browser SDK bundle sizes against their budgets; exits 1 when one is exceeded (CI runs it).

    .venv/bin/python benchmarks/sdk_bundle.py            # measure the built bundles
    .venv/bin/python benchmarks/sdk_bundle.py --build    # run `npm run build` first

prints ONE JSON object on stdout (progress and build output go to stderr):

- `files`: per built file, `raw_bytes`, `gzip_bytes` (gzip level 6, as `gzip -c` and most
  web servers compress), `sha384` (the SRI value), `budget_gzip_bytes` and `within_budget`:
  - `paywall.js`, the first script, the one file every publisher page loads: **8 KB**;
  - its chunks, each loaded later by paywall.js itself from `paywall-<name>.<version>.js` with
    the SRI hash built into it: `paywall-telemetry.js` (after load, in idle time),
    `paywall-challenge.js` (on a `risk_challenge`), `paywall-wallet.js` (when a wallet menu is
    first opened);
  - `frame.js` (the signer frame, made at the reader's first sign of intent) and `worker.js`
    (the frame's fingerprint worker);
- `sri_matches_bundles`: `sri.json` lists exactly these bytes;
- `meets_budgets`: every file within its budget, and `sri.json` true to the files.

Exit status: 0 when `meets_budgets`, 1 otherwise (and when a bundle is missing).
The main-thread work of the page script is measured in Chromium by `benchmarks/sdk_load.py`.
Needs no database and no service.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JS_DIR = ROOT / "static" / "js"
KB = 1024
# gzip bytes. The first script's budget is the issue's; the others leave a little room over
# today's sizes, so that growth is a decision, not an accident.
BUDGETS = {
    "paywall.js": 8 * KB,
    "paywall-telemetry.js": 8 * KB,
    "paywall-challenge.js": 3 * KB,
    "paywall-wallet.js": 2 * KB,
    # The signer frame loads only at the first sign of intent, in its own (cross-site) document;
    # 0.3.0 added the reader's dispute, consent, country and receipt dialogs to it.
    "frame.js": 28 * KB,
    "worker.js": 2 * KB,
}


def measure(path: Path) -> dict[str, object]:
    data = path.read_bytes()
    return {
        "raw_bytes": len(data),
        "gzip_bytes": len(gzip.compress(data, compresslevel=6, mtime=0)),
        "sha384": "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii"),
    }


def build() -> None:
    """`npm ci` when node_modules is missing, then `npm run build`; output to stderr."""
    if not (JS_DIR / "node_modules").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, stdout=sys.stderr
        )
    subprocess.run(["npm", "run", "build"], cwd=JS_DIR, check=True, stdout=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="run `npm run build` first")
    args = parser.parse_args(argv)
    if args.build:
        build()

    missing = [name for name in BUDGETS if not (JS_DIR / name).is_file()]
    if missing:
        print(
            json.dumps({"error": "bundle_missing", "missing": missing, "hint": "run with --build"})
        )
        return 1

    files: dict[str, dict[str, object]] = {}
    for name, budget in BUDGETS.items():
        measured = measure(JS_DIR / name)
        measured["budget_gzip_bytes"] = budget
        measured["within_budget"] = int(str(measured["gzip_bytes"])) <= budget
        files[name] = measured
    version = None
    sri_matches = False
    sri_path = JS_DIR / "sri.json"
    if sri_path.is_file():
        sri = json.loads(sri_path.read_text())
        version = sri.get("version")
        listed = sri.get("files", {})
        sri_matches = all(listed.get(name) == files[name]["sha384"] for name in BUDGETS) and all(
            listed.get(name.replace(".js", f".{version}.js")) == files[name]["sha384"]
            for name in BUDGETS
        )
    over = [name for name, measured in files.items() if not measured["within_budget"]]
    result = {
        "version": version,
        "files": files,
        "sri_matches_bundles": sri_matches,
        "over_budget": over,
        "meets_budgets": not over and sri_matches,
    }
    print(json.dumps(result, indent=2))
    if over:
        print(f"over budget: {', '.join(over)}", file=sys.stderr)
    if not sri_matches:
        print("sri.json does not match the built files (npm run build)", file=sys.stderr)
    return 0 if result["meets_budgets"] else 1


if __name__ == "__main__":
    sys.exit(main())
