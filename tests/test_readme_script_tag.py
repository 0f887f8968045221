"""The README's script tag is one a publisher can paste: its file and SRI hash are the build's."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_script_tag_names_the_current_version_and_its_hash() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sri = json.loads((ROOT / "static" / "js" / "sri.json").read_text(encoding="utf-8"))
    tag = re.search(
        r'src="[^"]*/static/js/(paywall\.[0-9.]+\.js)"[^>]*?integrity="(sha384-[^"]+)"',
        readme,
        re.S,
    )
    assert tag is not None, "the README's script tag is missing"
    name, integrity = tag.groups()
    assert name == f"paywall.{sri['version']}.js"
    assert integrity == sri["files"][name]
