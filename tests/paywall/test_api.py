"""The API as a whole: config, teasers, error envelope and codes, rate limits, schema."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from channels_app.keys.services import platform_address
from paywall.models import Publisher
from tests.paywall.factories import (
    ORIGIN,
    OTHER_ORIGIN,
    make_api_key,
    make_article,
    make_publisher,
    make_rate,
    make_reader,
    registration_body,
)
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
    response = api.post("readers", {"publisher": publisher.key, **registration_body(publisher)})
    assert response.status_code == 201  # Django's test client enforces no CSRF by default,
    assert not response.cookies  # but this also holds behind enforce_csrf_checks below.
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        "/api/v1/readers",
        data={"publisher": publisher.key, **registration_body(publisher)},
        content_type="application/json",
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 201


# --- Teasers of several articles at once ----------------------------------------------------


def teasers(api, publisher, slugs: str, **kwargs):
    return api.get(f"publishers/{publisher.key}/articles", slugs=slugs, **kwargs)


def test_teasers_of_several_articles_come_in_one_answer_in_the_order_asked(api) -> None:
    publisher = make_publisher()
    make_article(publisher, slug="first", title="First", price_drops=150_000)
    make_article(publisher, slug="second", title="Second", price_drops=2_500_000)
    make_rate(currency="USD", rate="0.50")
    make_article(publisher, slug="fiat", title="Fiat", price_fiat=Decimal("0.05"), currency="USD")
    response = teasers(api, publisher, "second,no-such-story,first,fiat,first")
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    body = response.json()
    assert body["publisher"] == publisher.key
    # unknown slugs are simply absent; a repeated one comes once
    assert [a["article"] for a in body["articles"]] == ["second", "first", "fiat"]
    second, first, fiat = body["articles"]
    assert first == api.get(f"publishers/{publisher.key}/articles/first").json()
    assert second["price_xrp"] == "2.5" and second["title"] == "Second"
    assert fiat["display_price"]["currency"] == "USD" and fiat["price_drops"] == "100000"


def test_teasers_of_articles_without_a_rate_have_a_null_price(api) -> None:
    publisher = make_publisher()
    make_article(publisher, slug="fiat", price_fiat=Decimal("0.05"), currency="JPY")
    response = teasers(api, publisher, "fiat")
    assert response.status_code == 200
    (teaser,) = response.json()["articles"]
    assert teaser["price_drops"] is None and teaser["display_price"] is None


def test_teasers_only_of_the_publishers_own_articles(api) -> None:
    publisher = make_publisher()
    other = make_publisher(name="Other")
    make_article(other, slug="theirs")
    make_article(publisher, slug="ours")
    body = teasers(api, publisher, "theirs,ours").json()
    assert [a["article"] for a in body["articles"]] == ["ours"]


@pytest.mark.parametrize("origin", [OTHER_ORIGIN, None, "null", ORIGIN + "/"])
def test_teasers_refuse_other_origins_without_cors(api, origin) -> None:
    publisher = make_publisher()
    make_article(publisher, slug="story")
    response = teasers(api, publisher, "story", origin=origin)
    assert response.status_code == 403
    assert error_code(response) == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response


def test_teasers_of_an_unknown_or_inactive_publisher(api) -> None:
    response = api.get("publishers/pub_unknown1/articles", slugs="story")
    assert response.status_code == 404
    assert error_code(response) == "publisher_not_found"
    assert "Access-Control-Allow-Origin" not in response
    publisher = make_publisher()
    Publisher.objects.filter(pk=publisher.pk).update(is_active=False)
    response = teasers(api, publisher, "story")
    assert response.status_code == 403
    assert error_code(response) == "publisher_inactive"


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"slugs": ""},
        {"slugs": "a,,b"},
        {"slugs": "a,"},
        {"slugs": "a b"},
        {"slugs": "a,b/c"},
        {"slugs": "ä"},
        {"slugs": "x" * 201},
        {"slugs": ",".join(f"s{n}" for n in range(101))},
        {"slugs": ["a", "b"]},
    ],
)
def test_malformed_teaser_queries_are_400_with_cors(api, query) -> None:
    publisher = make_publisher()
    make_article(publisher, slug="a")
    response = api.get(f"publishers/{publisher.key}/articles", **query)
    assert response.status_code == 400, response.content
    assert error_code(response) == "invalid_request"
    assert response["Access-Control-Allow-Origin"] == ORIGIN  # the page can read why


def test_teasers_take_up_to_100_slugs(api) -> None:
    publisher = make_publisher()
    slugs = [f"story-{n}" for n in range(100)]
    for slug in slugs[:10]:
        make_article(publisher, slug=slug)
    response = teasers(api, publisher, ",".join(slugs))
    assert response.status_code == 200
    assert [a["article"] for a in response.json()["articles"]] == slugs[:10]


def test_teasers_are_throttled_per_ip(api, settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": "2/min",
    }
    publisher = make_publisher()
    codes = [teasers(api, publisher, "a").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_schema_lists_the_batch_endpoints(client: Client) -> None:
    paths = client.get("/api/schema/?format=json").json()["paths"]
    assert "/api/v1/publishers/{pub}/articles" in paths
    assert "/api/v1/unlocks/restore" in paths
