"""The service publishes the built SDK, never its sources, tests or toolchain."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["js/paywall.js", "js/frame.js", "js/sri.json", "css/frame.css"])
def test_built_files_are_served(path: str) -> None:
    response = Client().get(f"/static/{path}")
    assert response.status_code == 200


@pytest.mark.django_db
def test_every_versioned_file_in_sri_json_is_served_with_its_hash_and_cors() -> None:
    """The page script loads its chunks as scripts with integrity and CORS, from another
    origin; and publishers pin older versions (`paywall.0.2.0.js`) with their hashes."""
    from django.conf import settings

    js = settings.BASE_DIR / "static" / "js"
    sri = json.loads((js / "sri.json").read_text())
    version = sri["version"]
    names = [name for name in sri["files"] if re.fullmatch(r"[a-z-]+\.[0-9.]+\.js", name)]
    assert f"paywall-telemetry.{version}.js" in names
    assert "paywall.0.2.0.js" in names  # still served after 0.3.0
    for name in names:
        response = Client().get(f"/static/js/{name}", headers={"Origin": "https://news.example"})
        assert response.status_code == 200, name
        assert response["Access-Control-Allow-Origin"] == "*", name
        body = b"".join(response.streaming_content) if response.streaming else response.content
        digest = base64.b64encode(hashlib.sha384(body).digest()).decode()
        assert sri["files"][name] == f"sha384-{digest}", name


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "js/package.json",
        "js/build.mjs",
        "js/src/paywall/index.js",
        "js/README.md",
        "js/.gitignore",
        "js/tools/recorder.html",
    ],
)
def test_sources_and_toolchain_are_not_served(path: str) -> None:
    from django.contrib.staticfiles import finders

    assert finders.find(path) is None
    assert Client().get(f"/static/{path}").status_code == 404


@pytest.mark.django_db
def test_the_admins_own_static_files_are_served() -> None:
    assert Client().get("/static/admin/css/base.css").status_code == 200
