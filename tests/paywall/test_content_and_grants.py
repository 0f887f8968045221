"""Paid content is served only for a valid grant for exactly that article, sanitised, uncached;
publishers can verify grants themselves with the JWKS."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.test import Client, override_settings
from django.urls import include, path

from channels_app import clock
from paywall.api_urls import root_urlpatterns
from paywall.models import Article, ArticleContent, Reader, Unlock
from paywall.services.content import html_sanitize
from paywall.services.grants import grant_issue
from tests.paywall.factories import ORIGIN, make_api_key, make_article, make_publisher, make_reader
from tests.paywall.helpers import error_code

pytestmark = pytest.mark.django_db

# The lead mounts root_urlpatterns at the site root; this suite mounts it itself.
urlpatterns = [path("api/v1/", include("paywall.api_urls")), *root_urlpatterns]


def paid(publisher, slug: str = "first-story", **article_kwargs):
    """A reader that has paid for the article (the Unlock row an accepted claim leaves)."""
    article = make_article(publisher, slug=slug, **article_kwargs)
    reader, _, _ = make_reader(publisher)
    Unlock.objects.create(
        reader=reader,
        article=article,
        amount_drops=article.price_drops or 1,
        channel_id="AB" * 32,
        claim_id=1,
        claim_reference="test",
    )
    return reader, article


def fetch(api, publisher, slug: str, grant: str | None, origin: str | None = ORIGIN):
    return api.get(
        f"content/{publisher.key}/{slug}",
        origin=origin,
        auth=None if grant is None else f"Bearer {grant}",
    )


def test_content_is_served_for_a_valid_grant_with_no_store_and_vary(api) -> None:
    publisher = make_publisher()
    reader, article = paid(publisher)
    grant = grant_issue(reader=reader, article=article)
    response = fetch(api, publisher, article.slug, grant.token)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "article": "first-story",
        "title": "The first story",
        "html": "<p>The paid body.</p>",
    }
    assert response["Cache-Control"] == "private, no-store"
    vary = {v.strip().lower() for v in response["Vary"].split(",")}
    assert {"authorization", "origin"} <= vary
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_no_grant_no_content(api) -> None:
    publisher = make_publisher()
    _, article = paid(publisher)
    response = fetch(api, publisher, article.slug, None)
    assert response.status_code == 401
    assert error_code(response) == "grant_required"
    assert "paid body" not in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("garbage", ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_a_garbage_grant_is_refused(api, garbage: str) -> None:
    publisher = make_publisher()
    _, article = paid(publisher)
    response = fetch(api, publisher, article.slug, garbage)
    assert response.status_code == 401
    assert error_code(response) == "grant_invalid"
    assert "paid body" not in response.content.decode()


def test_an_expired_grant_is_refused(api, settings) -> None:
    publisher = make_publisher()
    reader, article = paid(publisher)
    with clock.override(-timedelta(seconds=settings.DROPGATE_GRANT_TTL_SECONDS + 60)):
        grant = grant_issue(reader=reader, article=article)
    response = fetch(api, publisher, article.slug, grant.token)
    assert response.status_code == 401
    assert error_code(response) == "grant_expired"
    assert "paid body" not in response.content.decode()


def test_a_grant_for_another_article_is_refused(api) -> None:
    publisher = make_publisher()
    reader, article = paid(publisher)
    make_article(publisher, slug="second-story", body_html="<p>Second paid body.</p>")
    grant = grant_issue(reader=reader, article=article)
    response = fetch(api, publisher, "second-story", grant.token)
    assert response.status_code == 403
    assert error_code(response) == "grant_article_mismatch"
    assert "paid body" not in response.content.decode().lower()


def test_a_grant_from_another_publisher_is_refused(api) -> None:
    publisher = make_publisher()
    other = make_publisher(name="Other")
    reader, article = paid(other)  # same slug at the other publisher
    make_article(publisher)
    grant = grant_issue(reader=reader, article=article)
    response = fetch(api, publisher, article.slug, grant.token)
    assert response.status_code == 401
    assert error_code(response) == "grant_invalid"


def test_a_grant_without_a_paid_unlock_behind_it_is_refused(api) -> None:
    publisher = make_publisher()
    reader, article = paid(publisher)
    grant = grant_issue(reader=reader, article=article)
    Unlock.objects.all().delete()  # e.g. refunded
    response = fetch(api, publisher, article.slug, grant.token)
    assert response.status_code == 403
    assert error_code(response) == "grant_revoked"


def test_a_grant_signed_by_another_key_is_refused(api) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    publisher = make_publisher()
    reader, article = paid(publisher)
    real = jwt.decode(
        grant_issue(reader=reader, article=article).token, options={"verify_signature": False}
    )
    header = jwt.get_unverified_header(grant_issue(reader=reader, article=article).token)
    forged = jwt.encode(real, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=header)
    response = fetch(api, publisher, article.slug, forged)
    assert response.status_code == 401
    assert error_code(response) == "grant_invalid"


def test_pushed_script_is_stripped_on_write_and_never_served(api) -> None:
    publisher = make_publisher()
    auth = f"Bearer {make_api_key(publisher)}"
    body = (
        '<p onclick="steal()">Hi<script>alert(1)</script></p>'
        '<img src="x" onerror="steal()"><a href="javascript:steal()">x</a>'
        "<style>body{display:none}</style><iframe src='https://evil.example'></iframe>"
    )
    response = api.put(
        "publisher/articles/xss",
        {"title": "XSS", "price_drops": 10, "body_html": body},
        origin=None,
        auth=auth,
    )
    assert response.status_code == 201, response.content
    stored = ArticleContent.objects.get().body_html
    for bad in ("<script", "alert(1)", "onclick", "onerror", "javascript:", "<style", "<iframe"):
        assert bad not in stored
    assert "<p>Hi</p>" in stored

    # A row written around the service is cleaned on the way out too.
    ArticleContent.objects.update(body_html="<p>ok</p><script>alert(2)</script>")
    reader, _, _ = make_reader(publisher)
    article = Article.objects.get()
    Unlock.objects.create(
        reader=reader, article=article, amount_drops=10, channel_id="AB" * 32, claim_id=1
    )
    served = fetch(api, publisher, "xss", grant_issue(reader=reader, article=article).token)
    assert served.json()["html"] == "<p>ok</p>"


def test_sanitiser_keeps_ordinary_markup() -> None:
    html = '<h2>T</h2><p><a href="https://x.example/">link</a> <em>e</em></p><ul><li>i</li></ul>'
    cleaned = html_sanitize(html)
    assert "<h2>T</h2>" in cleaned and "<em>e</em>" in cleaned and "<li>i</li>" in cleaned
    assert 'href="https://x.example/"' in cleaned and "noopener" in cleaned


def test_article_without_content_is_404_content_not_found(api) -> None:
    publisher = make_publisher()
    reader, article = paid(publisher, body_html=None)
    response = fetch(
        api, publisher, article.slug, grant_issue(reader=reader, article=article).token
    )
    assert response.status_code == 404
    assert error_code(response) == "content_not_found"


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("url", ["/api/v1/jwks.json", "/.well-known/jwks.json"])
def test_publishers_can_verify_grants_with_the_jwks(url: str) -> None:
    publisher = make_publisher()
    reader, article = paid(publisher)
    grant = grant_issue(reader=reader, article=article)

    response = Client().get(url)
    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    keys = jwt.PyJWKSet.from_dict(response.json())
    kid = jwt.get_unverified_header(grant.token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims = jwt.decode(grant.token, key.key, algorithms=["EdDSA"], audience=publisher.key)
    assert claims["sub"] == reader.public_id
    assert claims["art"] == article.slug
    assert claims["aud"] == publisher.key
    assert claims["iss"]
    assert claims["exp"] - claims["iat"] <= 300 + 1
    assert claims["jti"]
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(grant.token, key.key, algorithms=["EdDSA"], audience="pub_someoneelse")


@override_settings(ROOT_URLCONF=__name__, DROPGATE_JWKS_MAX_AGE_SECONDS=120)
def test_the_jwks_lists_the_prepublished_key_and_caches_for_the_set_max_age() -> None:
    from channels_app.keys.services import token_key_prepublish

    publisher = make_publisher()
    reader, article = paid(publisher)
    grant = grant_issue(reader=reader, article=article)
    pending = token_key_prepublish(actor="test")

    response = Client().get("/.well-known/jwks.json")

    assert response["Cache-Control"] == "public, max-age=120"
    kids = [key["kid"] for key in response.json()["keys"]]
    assert kids == [jwt.get_unverified_header(grant.token)["kid"], pending.key_id]
    next_grant = grant_issue(reader=reader, article=article)
    assert jwt.get_unverified_header(next_grant.token)["kid"] != pending.key_id  # not signing


def test_grant_expiry_follows_the_setting(settings) -> None:
    settings.DROPGATE_GRANT_TTL_SECONDS = 60
    publisher = make_publisher()
    reader, article = paid(publisher)
    grant = grant_issue(reader=reader, article=article)
    remaining = (grant.expires_at - clock.now()).total_seconds()
    assert 55 <= remaining <= 61
    assert Reader.objects.count() == 1
