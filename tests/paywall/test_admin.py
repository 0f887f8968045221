"""The admin: site admins manage everything through the services; a publisher's staff see only
their own rows; secrets are shown once and hashes never."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from paywall.models import Article, ArticleContent, Publisher, PublisherApiKey
from paywall.services.publishers import api_key_authenticate
from tests.admin_support import admin_client
from tests.paywall.factories import ORIGIN, make_article, make_publisher

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client() -> Client:
    user = User.objects.create_superuser("root", "root@example.invalid", "pw-for-tests")
    return admin_client(user)


def test_site_admin_creates_a_publisher_through_the_service(superuser_client: Client) -> None:
    response = superuser_client.post(
        "/admin/paywall/publisher/add/",
        {
            "name": "Admin Made",
            "allowed_origins": f"{ORIGIN}\nHTTPS://News.Example/",
            "payout_address": "",
            "display_currency": "EUR",
            "fee_bps": "500",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    publisher = Publisher.objects.get()
    assert publisher.key.startswith("pub_")
    assert 1 <= publisher.destination_tag < 2**32
    assert publisher.allowed_origins == [ORIGIN, "https://news.example"]
    assert publisher.fee_bps == 500


def test_admin_refuses_a_bad_origin(superuser_client: Client) -> None:
    response = superuser_client.post(
        "/admin/paywall/publisher/add/",
        {
            "name": "Bad",
            "allowed_origins": "not an origin",
            "display_currency": "USD",
            "fee_bps": "1",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert Publisher.objects.count() == 0


def test_api_key_is_shown_once_and_its_hash_never(superuser_client: Client) -> None:
    publisher = make_publisher()
    response = superuser_client.post(
        "/admin/paywall/publisherapikey/add/",
        {"publisher": publisher.pk, "label": "server"},
        follow=True,
    )
    page = response.content.decode()
    token = page.split("copy it): ", 1)[1].split("<", 1)[0].strip()
    assert token.startswith("dgk_")
    assert api_key_authenticate(token=token).publisher == publisher
    key = PublisherApiKey.objects.get()
    detail = superuser_client.get(
        f"/admin/paywall/publisherapikey/{key.pk}/change/"
    ).content.decode()
    assert key.secret_hash not in detail and token not in detail


def test_article_body_entered_in_the_admin_is_sanitised(superuser_client: Client) -> None:
    publisher = make_publisher()
    response = superuser_client.post(
        "/admin/paywall/article/add/",
        {
            "publisher": publisher.pk,
            "slug": "from-admin",
            "title": "From the admin",
            "price_drops": "1000",
            "price_fiat": "",
            "price_currency": "",
            "body_html": "<p>Hi</p><script>alert(1)</script>",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ArticleContent.objects.get().body_html == "<p>Hi</p>"


def test_admin_refuses_two_prices(superuser_client: Client) -> None:
    publisher = make_publisher()
    superuser_client.post(
        "/admin/paywall/article/add/",
        {
            "publisher": publisher.pk,
            "slug": "two-prices",
            "title": "Two prices",
            "price_drops": "1000",
            "price_fiat": "1.00",
            "price_currency": "USD",
        },
    )
    assert Article.objects.count() == 0


def test_publisher_staff_see_only_their_own_rows() -> None:
    mine, theirs = make_publisher(name="Mine"), make_publisher(name="Theirs")
    make_article(mine, slug="my-story")
    make_article(theirs, slug="their-story")
    staff = User.objects.create_user("editor", password="pw-for-tests", is_staff=True)
    staff.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="paywall",
            codename__in=["view_article", "change_article", "view_publisher"],
        )
    )
    mine.users.add(staff)
    client = admin_client(staff)
    articles = client.get("/admin/paywall/article/").content.decode()
    assert "my-story" in articles and "their-story" not in articles
    other = Article.objects.get(slug="their-story")
    assert client.get(f"/admin/paywall/article/{other.pk}/change/").status_code in (302, 404)
    publishers = client.get("/admin/paywall/publisher/").content.decode()
    assert "Mine" in publishers and "Theirs" not in publishers
