"""The API as a whole: config, teasers, error envelope and codes, rate limits, schema."""

from __future__ import annotations

import pytest
from django.test import Client

from channels_app.keys.services import platform_address
from tests.paywall.factories import ORIGIN, make_api_key, make_article, make_publisher, make_reader
from tests.paywall.helpers import error_code

pytestmark = pytest.mark.django_db


def test_config_tells_the_snippet_how_to_open_a_channel(api, settings) -> None:
    publisher = make_publisher()
    response = api.get("config", publisher=publisher.key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["publisher"] == publisher.key
    assert body["platform_address"] == platform_address()
    assert body["destination_tag"] == publisher.destination_tag
    assert body["min_settle_delay_seconds"] == settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS
    assert body["min_channel_drops"] == str(settings.DROPGATE_MIN_CHANNEL_DROPS)
    assert body["network"] == {"kind": settings.XRPL_LEDGER_KIND}
    assert body["api_base"].endswith("/api/v1/")
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_config_accepts_the_publisher_header(api) -> None:
    publisher = make_publisher()
    response = api.get("config", headers={"X-Dropgate-Publisher": publisher.key})
    assert response.status_code == 200


def test_config_without_a_publisher_is_400(api) -> None:
    response = api.get("config")
    assert response.status_code == 400
    assert error_code(response) == "invalid_request"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("config?publisher=pub_unknown1", "publisher_not_found"),
        ("publishers/pub_unknown1/articles/story", "publisher_not_found"),
        ("publishers/{pub}/articles/no-such-story", "article_not_found"),
        ("content/pub_unknown1/story", "publisher_not_found"),
        ("no/such/endpoint", "not_found"),
    ],
)
def test_unknown_things_are_404_with_stable_codes(api, path: str, code: str) -> None:
    publisher = make_publisher()
    make_article(publisher, slug="story")
    response = api.get(path.format(pub=publisher.key), auth="Bearer x")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == code


def test_wrong_method_is_405_in_the_envelope(api) -> None:
    response = api.send("DELETE", "readers")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"


def test_ip_rate_limit_is_429_rate_limited(api, settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": "3/min",
    }
    publisher = make_publisher()
    make_article(publisher, slug="story")
    codes = [api.get(f"publishers/{publisher.key}/articles/story").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = api.get(f"publishers/{publisher.key}/articles/story")
    assert error_code(limited) == "rate_limited"
    assert int(limited["Retry-After"]) > 0
    # A spoofed X-Forwarded-For does not buy a fresh budget.
    spoofed = api.get(
        f"publishers/{publisher.key}/articles/story", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert spoofed.status_code == 429


def test_reader_rate_limit_is_per_reader(api, settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "reader": "2/min",
    }
    publisher = make_publisher()
    _, first, _ = make_reader(publisher)
    _, second, _ = make_reader(publisher)
    codes = [api.get("channels/" + "AB" * 32, auth=f"Reader {first}").status_code for _ in range(3)]
    assert codes == [404, 404, 429]
    assert api.get("channels/" + "AB" * 32, auth=f"Reader {second}").status_code == 404


def test_publisher_rate_limit_is_per_publisher(api, settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "publisher": "2/min",
    }
    publisher = make_publisher()
    auth = f"Bearer {make_api_key(publisher)}"
    other_key = f"Bearer {make_api_key(publisher)}"
    codes = [api.get("publisher/articles", origin=None, auth=auth).status_code for _ in range(2)]
    assert codes == [200, 200]
    limited = api.get("publisher/articles", origin=None, auth=other_key)
    assert limited.status_code == 429
    assert error_code(limited) == "rate_limited"
    fresh = f"Bearer {make_api_key(make_publisher(name='Other'))}"
    assert api.get("publisher/articles", origin=None, auth=fresh).status_code == 200


def test_schema_is_served_as_json(client: Client) -> None:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for expected in (
        "/api/v1/config",
        "/api/v1/readers",
        "/api/v1/channels",
        "/api/v1/unlocks",
        "/api/v1/content/{pub}/{slug}",
        "/api/v1/publisher/articles/{slug}",
    ):
        assert expected in paths
    assert "402" in paths["/api/v1/unlocks"]["post"]["responses"]
    schemes = schema["components"]["securitySchemes"]
    assert {"readerToken", "publisherApiKey", "accessGrant"} <= set(schemes)


def test_the_api_uses_no_cookies_and_needs_no_csrf(api) -> None:
    publisher = make_publisher()
    response = api.post(
        "readers",
        {"publisher": publisher.key, "claim_public_key": "ED" + "11" * 32},
    )
    assert response.status_code == 201  # Django's test client enforces no CSRF by default,
    assert not response.cookies  # but this also holds behind enforce_csrf_checks below.
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        "/api/v1/readers",
        data={"publisher": publisher.key, "claim_public_key": "ED" + "22" * 32},
        content_type="application/json",
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 201
