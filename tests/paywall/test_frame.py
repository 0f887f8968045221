"""The signer frame page (/sdk/frame/<publisher key>) and the origin rule that lets the frame,
served from the paywall's own origin, call the reader endpoints."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

from paywall import frame
from paywall.models import Reader
from paywall.services.exceptions import OriginNotAllowed
from paywall.services.publishers import (
    paywall_public_origin,
    publisher_check_origin,
    publisher_update,
    request_origin,
)
from tests.channels_app.factories import claim_key
from tests.paywall.factories import (
    ORIGIN,
    OTHER_ORIGIN,
    make_article,
    make_publisher,
    make_reader,
    registration_body,
)
from tests.paywall.helpers import error_code

pytestmark = pytest.mark.django_db

PAYWALL_ORIGIN = "http://127.0.0.1:8000"  # the default DROPGATE_PUBLIC_URL
SRI_FRAME = "sha384-" + "A" * 64
SRI_FRAME_PLAIN = "sha384-" + "B" * 64


@pytest.fixture(autouse=True)
def _fresh_manifest_cache() -> Iterator[None]:
    frame._resolve.cache_clear()
    yield
    frame._resolve.cache_clear()


@pytest.fixture
def static_dir(settings, tmp_path: Path) -> Path:
    """An isolated static dir, so the tests never depend on the JS build in static/js/."""
    root = tmp_path / "static"
    (root / "js").mkdir(parents=True)
    settings.STATICFILES_DIRS = [root]
    return root


def write_build(root: Path, *, version: str = "1.0.0", files: dict[str, str] | None = None) -> None:
    (root / "js" / f"frame.{version}.js").write_text("// frame\n")
    (root / "js" / "frame.js").write_text("// frame\n")
    manifest = {
        "version": version,
        "files": files
        if files is not None
        else {f"frame.{version}.js": SRI_FRAME, "frame.js": SRI_FRAME_PLAIN},
    }
    (root / "js" / "sri.json").write_text(json.dumps(manifest))


def frame_page(client: Client, key: str):
    return client.get(f"/sdk/frame/{key}")


def script_tags(html: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>", html)


def csp_directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().split(" ", 1)[1]
        for part in policy.split(";")
        if part.strip()
    }


# --- The page --------------------------------------------------------------------------------


def test_the_frame_loads_the_versioned_bundle_with_its_sri_hash(client, static_dir) -> None:
    # Given a publisher and a built SDK
    write_build(static_dir)
    publisher = make_publisher(origins=(ORIGIN, "https://news.example"))
    # When the frame is requested
    response = frame_page(client, publisher.key)
    # Then it is the frame page with the versioned script and its integrity
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert script_tags(html) == [
        f'<script src="/static/js/frame.1.0.0.js" integrity="{SRI_FRAME}" '
        'crossorigin="anonymous" defer>'
    ]
    assert '<link rel="stylesheet" href="/static/css/frame.css">' in html
    assert 'id="dropgate-frame"' in html
    assert f'data-publisher="{publisher.key}"' in html
    assert 'data-api-base="http://127.0.0.1:8000/api/v1/"' in html
    assert 'data-ws-url="ws://127.0.0.1:8000/ws/reader/"' in html
    assert 'data-version="1.0.0"' in html
    origins = re.search(r'data-allowed-origins="([^"]*)"', html)
    assert origins is not None
    assert json.loads(origins.group(1).replace("&quot;", '"')) == [
        ORIGIN,
        "https://news.example",
    ]


def test_the_page_has_no_inline_script_or_style(client, static_dir) -> None:
    write_build(static_dir)
    html = frame_page(client, make_publisher().key).content.decode()
    assert all(" src=" in tag for tag in script_tags(html))
    assert "<style" not in html
    assert "style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None  # no inline event handlers
    # The confirm/cancel buttons are rendered by frame.js, not here.
    assert "data-paywall-action" not in html


def test_headers_csp_frame_ancestors_cache_and_referrer(client, static_dir) -> None:
    # Given a publisher with two origins
    write_build(static_dir)
    publisher = make_publisher(origins=(ORIGIN, "https://news.example"))
    # When the frame is requested
    response = frame_page(client, publisher.key)
    # Then only those origins may frame it, and nothing caches or leaks it
    assert response["Content-Security-Policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "connect-src 'self' ws://127.0.0.1:8000; "
        f"frame-ancestors {ORIGIN} https://news.example; "
        "base-uri 'none'; object-src 'none'"
    )
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    assert not response.has_header("X-Frame-Options")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_publisher_without_origins_cannot_be_framed_anywhere(client, static_dir) -> None:
    write_build(static_dir)
    publisher = make_publisher(origins=())
    response = frame_page(client, publisher.key)
    assert response.status_code == 200
    assert csp_directives(response)["frame-ancestors"] == "'none'"


def test_https_public_url_gives_wss_and_keeps_a_path_prefix(client, settings, static_dir) -> None:
    write_build(static_dir)
    settings.DROPGATE_PUBLIC_URL = "https://Pay.Example:443/dropgate/"
    response = frame_page(client, make_publisher().key)
    html = response.content.decode()
    assert 'data-api-base="https://pay.example/dropgate/api/v1/"' in html
    assert 'data-ws-url="wss://pay.example/dropgate/ws/reader/"' in html
    assert csp_directives(response)["connect-src"] == "'self' wss://pay.example"


def test_head_is_allowed_and_post_is_not(client, static_dir) -> None:
    write_build(static_dir)
    publisher = make_publisher()
    assert client.head(f"/sdk/frame/{publisher.key}").status_code == 200
    assert client.post(f"/sdk/frame/{publisher.key}").status_code == 405


# --- Unknown or inactive publishers ----------------------------------------------------------


@pytest.mark.parametrize("key", ["pub_doesnotexist", "not-a-key", "x" * 300])
def test_an_unknown_publisher_gets_a_404_page_without_the_script(client, static_dir, key) -> None:
    write_build(static_dir)
    response = frame_page(client, key)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert script_tags(response.content.decode()) == []
    assert csp_directives(response)["frame-ancestors"] == "'none'"
    assert response["Cache-Control"] == "no-store"


def test_an_inactive_publisher_gets_a_404_page(client, static_dir) -> None:
    write_build(static_dir)
    publisher = make_publisher()
    publisher_update(publisher=publisher, is_active=False)
    response = frame_page(client, publisher.key)
    assert response.status_code == 404
    assert script_tags(response.content.decode()) == []
    assert csp_directives(response)["frame-ancestors"] == "'none'"


# --- SRI manifest fallbacks ------------------------------------------------------------------


def test_without_sri_json_it_falls_back_to_frame_js_and_warns(client, static_dir, caplog) -> None:
    # Given no JS build at all
    publisher = make_publisher()
    # When the frame is requested
    with caplog.at_level(logging.WARNING, logger="paywall.frame"):
        response = frame_page(client, publisher.key)
    # Then it still works, with the unversioned bundle and no integrity, and says why
    assert response.status_code == 200
    assert script_tags(response.content.decode()) == ['<script src="/static/js/frame.js" defer>']
    assert any("sri.json" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "manifest",
    [
        "{not json",
        json.dumps({"files": {}}),
        json.dumps({"version": "../../etc", "files": {}}),
        json.dumps({"version": "1.0.0", "files": {"frame.1.0.0.js": "md5-nope"}}),
        json.dumps({"version": "1.0.0", "files": ["frame.js"]}),
    ],
)
def test_a_broken_manifest_falls_back_without_integrity(client, static_dir, manifest) -> None:
    (static_dir / "js" / "sri.json").write_text(manifest)
    response = frame_page(client, make_publisher().key)
    assert response.status_code == 200
    assert script_tags(response.content.decode()) == ['<script src="/static/js/frame.js" defer>']


def test_the_unversioned_hash_is_used_when_the_versioned_file_is_missing(
    client, static_dir
) -> None:
    write_build(static_dir)
    (static_dir / "js" / "frame.1.0.0.js").unlink()
    response = frame_page(client, make_publisher().key)
    assert script_tags(response.content.decode()) == [
        f'<script src="/static/js/frame.js" integrity="{SRI_FRAME_PLAIN}" '
        'crossorigin="anonymous" defer>'
    ]


def test_a_new_build_is_picked_up_without_a_restart(client, static_dir) -> None:
    publisher = make_publisher()
    write_build(static_dir, version="1.0.0")
    assert "frame.1.0.0.js" in frame_page(client, publisher.key).content.decode()
    write_build(static_dir, version="1.1.0")
    sri = static_dir / "js" / "sri.json"
    stat = sri.stat()
    os.utime(sri, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert "frame.1.1.0.js" in frame_page(client, publisher.key).content.decode()


# --- The origin rule -------------------------------------------------------------------------


def test_the_paywall_origin_is_normalised_from_the_public_url(settings) -> None:
    settings.DROPGATE_PUBLIC_URL = "HTTPS://Pay.Example:443/some/path/"
    assert paywall_public_origin() == "https://pay.example"
    settings.DROPGATE_PUBLIC_URL = "http://127.0.0.1:8000"
    assert paywall_public_origin() == PAYWALL_ORIGIN


def test_reader_endpoints_accept_the_paywall_origin(api) -> None:
    # Given a publisher whose pages are on ORIGIN, and the frame on the paywall's origin
    publisher = make_publisher()
    article = make_article(publisher)
    # When the frame registers a reader and asks for an unlock from the paywall's origin
    challenge = api.get(
        "readers/challenge",
        headers={"X-Dropgate-Publisher": publisher.key, "Sec-Fetch-Site": "same-origin"},
        origin=None,
    )
    assert challenge.status_code == 200, challenge.content
    created = api.post(
        "readers",
        registration_body(publisher),
        headers={"X-Dropgate-Publisher": publisher.key},
        origin=PAYWALL_ORIGIN,
    )
    assert created.status_code == 201, created.content
    token = created.json()["reader_token"]
    unlock = api.post(
        "unlocks", {"article": article.slug}, auth=f"Reader {token}", origin=PAYWALL_ORIGIN
    )
    # Then both are served (402: the article is to be paid for)
    assert unlock.status_code == 402
    assert error_code(unlock) == "payment_required"
    # and the same-origin frame needs no CORS header
    assert not unlock.has_header("Access-Control-Allow-Origin")


def test_the_publisher_origins_are_still_accepted(api) -> None:
    publisher = make_publisher()
    _, token, _ = make_reader(publisher)
    article = make_article(publisher)
    response = api.post("unlocks", {"article": article.slug}, auth=f"Reader {token}")
    assert response.status_code == 402
    assert response["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize(
    "origin",
    [
        OTHER_ORIGIN,
        "http://127.0.0.1:8000.evil.example",
        "https://127.0.0.1:8000",
        "http://localhost:8000",
        "null",
    ],
)
def test_other_origins_are_refused(api, origin) -> None:
    # Given a publisher and its reader
    publisher = make_publisher()
    article = make_article(publisher)
    _, token, _ = make_reader(publisher)
    readers_before = Reader.objects.count()
    # When another origin calls the reader endpoints
    unlock = api.post("unlocks", {"article": article.slug}, auth=f"Reader {token}", origin=origin)
    created = api.post(
        "readers",
        {"claim_public_key": claim_key().public_key},
        headers={"X-Dropgate-Publisher": publisher.key},
        origin=origin,
    )
    # Then both are refused and no reader was created
    assert unlock.status_code == 403
    assert error_code(unlock) == "origin_not_allowed"
    assert created.status_code == 403
    assert error_code(created) == "origin_not_allowed"
    assert Reader.objects.count() == readers_before


def test_the_paywall_origin_follows_the_setting(api, settings) -> None:
    settings.DROPGATE_PUBLIC_URL = "https://pay.example"
    publisher = make_publisher()
    _, token, _ = make_reader(publisher)
    article = make_article(publisher)
    old = api.post(
        "unlocks", {"article": article.slug}, auth=f"Reader {token}", origin=PAYWALL_ORIGIN
    )
    new = api.post(
        "unlocks", {"article": article.slug}, auth=f"Reader {token}", origin="https://pay.example"
    )
    assert old.status_code == 403
    assert new.status_code == 402


def test_a_same_origin_request_without_origin_counts_as_the_paywall_origin() -> None:
    # Browsers send no Origin on same-origin GETs, but always Sec-Fetch-Site.
    publisher = make_publisher()
    assert request_origin(origin=None, fetch_site="same-origin") == PAYWALL_ORIGIN
    assert request_origin(origin=ORIGIN, fetch_site="cross-site") == ORIGIN
    publisher_check_origin(publisher=publisher, origin=None, fetch_site="same-origin")
    for fetch_site in (None, "same-site", "cross-site", "none"):
        with pytest.raises(OriginNotAllowed):
            publisher_check_origin(publisher=publisher, origin=None, fetch_site=fetch_site)
