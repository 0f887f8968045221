"""The service publishes the built SDK, never its sources, tests or toolchain."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["js/paywall.js", "js/frame.js", "js/sri.json", "css/frame.css"])
def test_built_files_are_served(path: str) -> None:
    response = Client().get(f"/static/{path}")
    assert response.status_code == 200


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
