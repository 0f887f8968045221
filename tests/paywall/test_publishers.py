"""Publishers, their API keys and the publisher API (articles, content, exchange rates)."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from channels_app.exceptions import Conflict
from paywall.models import Article, ArticleContent, ExchangeRate, Publisher, PublisherApiKey
from paywall.services.exceptions import ApiKeyInvalid, InvalidInput
from paywall.services.publishers import (
    api_key_authenticate,
    api_key_create,
    api_key_revoke,
    origin_normalise,
    publisher_create,
)
from tests.paywall.factories import ORIGIN, make_api_key, make_article, make_publisher
from tests.paywall.helpers import error_code

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int, int]:
    return (
        Article.objects.count(),
        ArticleContent.objects.count(),
        ExchangeRate.objects.count(),
        Publisher.objects.count(),
    )


# --- Publishers ------------------------------------------------------------------------------


def test_publisher_gets_a_public_key_a_unique_uint32_tag_and_the_default_fee(settings) -> None:
    settings.DROPGATE_PLATFORM_FEE_BPS = 750
    first, second = make_publisher(), make_publisher(name="Other")
    assert first.key.startswith("pub_") and first.key != second.key
    assert 1 <= first.destination_tag <= 2**32 - 1
    assert first.destination_tag != second.destination_tag
    assert first.fee_bps == 750
    assert first.is_active


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("HTTPS://News.Example:443/", "https://news.example"),
        ("http://news.example:80", "http://news.example"),
        ("http://[::1]:8001", "http://[::1]:8001"),
    ],
)
def test_origins_are_normalised_as_browsers_send_them(raw: str, normalised: str) -> None:
    assert origin_normalise(raw) == normalised


@pytest.mark.parametrize(
    "bad",
    [
        "127.0.0.1:8001",
        "ftp://x.example",
        "https://x.example/path",
        "https://u:p@x.example",
        "*",
        "",
    ],
)
def test_what_is_not_an_origin_is_refused(bad: str) -> None:
    before = counts()
    with pytest.raises(InvalidInput):
        publisher_create(name="Bad", allowed_origins=[bad])
    assert counts() == before


def test_payout_address_must_be_a_classic_address() -> None:
    before = counts()
    with pytest.raises(InvalidInput):
        publisher_create(name="Bad", allowed_origins=[ORIGIN], payout_address="not-an-address")
    assert counts() == before


def test_an_explicit_key_that_is_taken_is_a_conflict() -> None:
    make_publisher(key="pub_demo1234")
    with pytest.raises(Conflict) as caught:
        make_publisher(key="pub_demo1234")
    assert caught.value.code == "publisher_key_taken"
    assert Publisher.objects.count() == 1


def test_create_publisher_command_prints_keys_once_and_is_rerunnable() -> None:
    out = StringIO()
    call_command(
        "create_publisher",
        "--name=Demo",
        f"--origin={ORIGIN}",
        "--key=pub_demo",
        "--api-key",
        "--if-missing",
        "--json",
        stdout=out,
    )
    first = json.loads(out.getvalue())
    assert first["created"] is True and first["publisher"] == "pub_demo"
    assert first["api_key"].startswith("dgk_")
    assert api_key_authenticate(token=first["api_key"]).publisher.key == "pub_demo"

    again = StringIO()
    call_command(
        "create_publisher", "--name=Demo", "--key=pub_demo", "--if-missing", "--json", stdout=again
    )
    second = json.loads(again.getvalue())
    assert second["created"] is False and second["api_key"] is None
    assert second["destination_tag"] == first["destination_tag"]
    assert Publisher.objects.count() == 1

    with pytest.raises(CommandError):
        call_command("create_publisher", "--name=Demo", "--key=pub_demo", stdout=StringIO())


# --- API keys --------------------------------------------------------------------------------


def test_api_key_secret_is_only_stored_hashed() -> None:
    publisher = make_publisher()
    issued = api_key_create(publisher=publisher)
    _, prefix, secret = issued.token.split("_", 2)
    row = PublisherApiKey.objects.get(pk=issued.api_key.pk)
    assert row.prefix == prefix
    assert secret not in row.secret_hash and len(row.secret_hash) == 64
    assert secret not in str(row) and secret not in repr(row)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: "dgk_000000000000_" + t.split("_", 2)[2],  # unknown prefix
        lambda t: t.replace("dgk_", "dgx_"),  # wrong kind
        lambda t: "dgk_",  # malformed
    ],
)
def test_wrong_api_keys_are_refused(mangle) -> None:
    token = make_api_key(make_publisher())
    with pytest.raises(ApiKeyInvalid):
        api_key_authenticate(token=mangle(token))


def test_a_revoked_key_stops_working(api) -> None:
    publisher = make_publisher()
    issued = api_key_create(publisher=publisher)
    assert (
        api.get("publisher/articles", origin=None, auth=f"Bearer {issued.token}").status_code == 200
    )
    api_key_revoke(api_key=issued.api_key)
    response = api.get("publisher/articles", origin=None, auth=f"Bearer {issued.token}")
    assert response.status_code == 401
    assert error_code(response) == "api_key_invalid"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_publisher_api_needs_a_key(api) -> None:
    response = api.get("publisher/articles", origin=None)
    assert response.status_code == 401
    assert error_code(response) == "not_authenticated"


def test_a_reader_token_or_grant_is_not_a_publisher_key(api) -> None:
    response = api.get("publisher/articles", origin=None, auth="Bearer eyJhbGciOi.x.y")
    assert response.status_code == 401
    assert error_code(response) == "api_key_invalid"


def test_an_inactive_publishers_key_is_refused(api) -> None:
    publisher = make_publisher()
    token = make_api_key(publisher)
    Publisher.objects.filter(pk=publisher.pk).update(is_active=False)
    response = api.get("publisher/articles", origin=None, auth=f"Bearer {token}")
    assert response.status_code == 403
    assert error_code(response) == "publisher_inactive"


# --- Publisher API: articles -----------------------------------------------------------------


def test_put_article_creates_then_replaces_it(api) -> None:
    publisher = make_publisher()
    auth = f"Bearer {make_api_key(publisher)}"
    created = api.put(
        "publisher/articles/hello-world",
        {"title": "Hello", "price_drops": "100000", "body_html": "<p>Body</p>"},
        origin=None,
        auth=auth,
    )
    assert created.status_code == 201, created.content
    assert created.json()["price_drops"] == "100000"
    assert created.json()["has_content"] is True

    replaced = api.put(
        "publisher/articles/hello-world",
        {"title": "Hello again", "price_fiat": "0.05", "price_currency": "EUR"},
        origin=None,
        auth=auth,
    )
    assert replaced.status_code == 200, replaced.content
    body = replaced.json()
    assert body["title"] == "Hello again"
    assert body["price_drops"] is None
    assert body["price_fiat"] == "0.0500" and body["price_currency"] == "EUR"
    assert body["has_content"] is True  # the body was not sent, so it was kept
    assert Article.objects.count() == 1

    listing = api.get("publisher/articles", origin=None, auth=auth)
    assert [a["article"] for a in listing.json()["articles"]] == ["hello-world"]


def test_publisher_api_responses_are_not_shared_cross_origin(api) -> None:
    publisher = make_publisher()
    response = api.get("publisher/articles", auth=f"Bearer {make_api_key(publisher)}")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_publishers_only_see_their_own_articles(api) -> None:
    mine, theirs = make_publisher(), make_publisher(name="Other")
    make_article(theirs, slug="secret-plans")
    response = api.get("publisher/articles", origin=None, auth=f"Bearer {make_api_key(mine)}")
    assert response.json() == {"articles": []}


@pytest.mark.parametrize(
    "body",
    [
        {"title": "No price"},
        {"title": "Both", "price_drops": 10, "price_fiat": "0.10", "price_currency": "USD"},
        {"title": "Fiat without currency", "price_fiat": "0.10"},
        {"title": "Zero", "price_drops": 0},
        {"title": "Negative fiat", "price_fiat": "-1", "price_currency": "USD"},
        {"title": "Too precise", "price_fiat": "0.00001", "price_currency": "USD"},
        {"title": "Float drops", "price_drops": 1.5},
        {"title": "Lower-case currency", "price_fiat": "1", "price_currency": "usd"},
        {"price_drops": 10},
    ],
)
def test_bad_article_input_is_400_and_changes_nothing(api, body) -> None:
    publisher = make_publisher()
    auth = f"Bearer {make_api_key(publisher)}"
    before = counts()
    response = api.put("publisher/articles/x", body, origin=None, auth=auth)
    assert response.status_code == 400, response.content
    assert error_code(response) == "invalid_request"
    assert counts() == before


def test_malformed_json_is_400_malformed_json(api) -> None:
    publisher = make_publisher()
    before = counts()
    response = api.put(
        "publisher/articles/x",
        raw='{"title": "oops",',
        origin=None,
        auth=f"Bearer {make_api_key(publisher)}",
    )
    assert response.status_code == 400
    assert error_code(response) == "malformed_json"
    assert counts() == before


def test_non_json_is_415(api) -> None:
    publisher = make_publisher()
    response = api.put(
        "publisher/articles/x",
        raw="title=x",
        content_type="application/x-www-form-urlencoded",
        origin=None,
        auth=f"Bearer {make_api_key(publisher)}",
    )
    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"


# --- Publisher API: exchange rates -----------------------------------------------------------


def test_put_exchange_rate_records_rate_and_source(api) -> None:
    publisher = make_publisher()
    response = api.put(
        "publisher/exchange-rates/EUR",
        {"rate": "0.48500000", "source": "ECB reference via publisher"},
        origin=None,
        auth=f"Bearer {make_api_key(publisher)}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["rate"] == "0.48500000"
    rate = ExchangeRate.objects.get()
    assert rate.publisher == publisher
    assert rate.rate == Decimal("0.485") and rate.source == "ECB reference via publisher"


@pytest.mark.parametrize(
    ("currency", "body"),
    [
        ("EUR", {"rate": "0", "source": "x"}),
        ("EUR", {"rate": "-1", "source": "x"}),
        ("EUR", {"rate": "abc", "source": "x"}),
        ("EUR", {"rate": "0.5"}),
        ("eur", {"rate": "0.5", "source": "x"}),
        ("EUR", {"rate": "0.5", "source": "x", "as_of": "2999-01-01T00:00:00Z"}),
    ],
)
def test_bad_rates_are_400_and_change_nothing(api, currency, body) -> None:
    publisher = make_publisher()
    before = counts()
    response = api.put(
        f"publisher/exchange-rates/{currency}",
        body,
        origin=None,
        auth=f"Bearer {make_api_key(publisher)}",
    )
    assert response.status_code == 400, response.content
    assert error_code(response) == "invalid_request"
    assert counts() == before
