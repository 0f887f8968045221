"""Browser SDK bundle sizes: what every publisher page downloads.

    .venv/bin/python benchmarks/sdk_bundle.py            # measure the built bundles
    .venv/bin/python benchmarks/sdk_bundle.py --build    # run `npm run build` first

prints ONE JSON object on stdout (progress and build output go to stderr):

- `files`: for `paywall.js` (the page script, loaded on every page) and `frame.js` (the
  signer frame, which the page script creates once the browser is idle after load, or at the
  reader's first interaction if that comes first), `raw_bytes`, `gzip_bytes` (gzip level 6, as
  `gzip -c` and most web servers compress) and `sha384` (the SRI value in `sri.json`);
- `target`: paywall.js at most 15 KB (15,360 bytes) gzipped; `meets_target` says if it is met;
- `frame_target`: frame.js at most 28 KB (28,672 bytes) gzipped (it holds the wallet's
  transaction codec and checks and, since issues 11 and 12, the consent, country, receipts and
  report-a-problem dialogs; loaded only inside the signer frame); `meets_frame_target`.

The main-thread work of paywall.js at page load is measured in Chromium by
`benchmarks/sdk_load.py`.
Needs no database and no service; exits 1 when a bundle is missing.
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
BUNDLES = ("paywall.js", "frame.js")
TARGET_GZIP_BYTES = 15 * 1024  # paywall.js
FRAME_TARGET_GZIP_BYTES = 28 * 1024  # frame.js


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

    missing = [name for name in BUNDLES if not (JS_DIR / name).is_file()]
    if missing:
        print(
            json.dumps({"error": "bundle_missing", "missing": missing, "hint": "run with --build"})
        )
        return 1

    files = {name: measure(JS_DIR / name) for name in BUNDLES}
    version = None
    sri_path = JS_DIR / "sri.json"
    sri_matches = None
    if sri_path.is_file():
        sri = json.loads(sri_path.read_text())
        version = sri.get("version")
        sri_matches = all(
            sri.get("files", {}).get(name) == files[name]["sha384"] for name in BUNDLES
        )
    paywall_gzip = files["paywall.js"]["gzip_bytes"]
    frame_gzip = files["frame.js"]["gzip_bytes"]
    result = {
        "version": version,
        "files": files,
        "sri_matches_bundles": sri_matches,
        "target": {"file": "paywall.js", "max_gzip_bytes": TARGET_GZIP_BYTES},
        "meets_target": isinstance(paywall_gzip, int) and paywall_gzip <= TARGET_GZIP_BYTES,
        "frame_target": {"file": "frame.js", "max_gzip_bytes": FRAME_TARGET_GZIP_BYTES},
        "meets_frame_target": isinstance(frame_gzip, int) and frame_gzip <= FRAME_TARGET_GZIP_BYTES,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
