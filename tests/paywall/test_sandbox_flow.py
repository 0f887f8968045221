"""The reader's whole path over HTTP against the real sandbox ledger: register the channel the
reader opened (with the publisher's destination tag), pay with a claim, read the content."""

from __future__ import annotations

import pytest
from xrpl.clients import JsonRpcClient
from xrpl.models.transactions import PaymentChannelCreate
from xrpl.transaction import submit_and_wait
from xrpl.wallet import Wallet

from channels_app.models import Channel
from channels_app.services.platform import platform_bootstrap
from tests.channels_app.factories import claim_key
from tests.channels_app.ledger_helpers import created_channel_id
from tests.fixtures.sandbox import fund_account
from tests.paywall.factories import make_article, make_publisher, make_reader
from tests.paywall.helpers import error_code

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PRICE = 250_000


@pytest.fixture
def platform(settings, sandbox_url: str) -> str:
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12  # no settlement task in this test
    return str(platform_bootstrap()["address"])


def open_channel(url: str, *, destination: str, tag: int | None, public_key: str) -> str:
    wallet = Wallet.create()
    fund_account(url, wallet.address, 30_000_000)
    response = submit_and_wait(
        PaymentChannelCreate(
            account=wallet.address,
            destination=destination,
            destination_tag=tag,
            amount="5000000",
            settle_delay=3600,
            public_key=public_key,
        ),
        JsonRpcClient(url),
        wallet,
    )
    assert response.result["meta"]["TransactionResult"] == "tesSUCCESS", response.result
    return created_channel_id(response.result)


def test_register_pay_and_read(api, sandbox_url: str, platform: str) -> None:
    publisher = make_publisher()
    article = make_article(publisher, price_drops=PRICE)
    reader, token, key = make_reader(publisher)
    auth = f"Reader {token}"
    config = api.get("config", publisher=publisher.key).json()
    assert config["platform_address"] == platform

    channel_id = open_channel(
        sandbox_url,
        destination=config["platform_address"],
        tag=config["destination_tag"],
        public_key=key.public_key,
    )
    registered = api.post("channels", {"channel_id": channel_id}, auth=auth)
    assert registered.status_code == 200, registered.content
    assert registered.json()["funded_drops"] == "5000000"
    assert registered.json()["accepted_drops"] == "0"
    assert Channel.objects.get(channel_id=channel_id).owner_ref == reader.public_id

    unlock = api.post(
        "unlocks",
        {
            "article": article.slug,
            "claim": {
                "channel_id": channel_id,
                "amount_drops": str(PRICE),
                "signature": key.sign(channel_id, PRICE),
            },
        },
        auth=auth,
    )
    assert unlock.status_code == 201, unlock.content
    content = api.get(
        f"content/{publisher.key}/{article.slug}", auth=f"Bearer {unlock.json()['grant']}"
    )
    assert content.json()["html"] == "<p>The paid body.</p>"
    state = api.get(f"channels/{channel_id}", auth=auth).json()
    assert state["accepted_drops"] == str(PRICE)
    assert state["remaining_drops"] == str(5_000_000 - PRICE)


def test_a_channel_without_the_publishers_tag_is_refused(
    api, sandbox_url: str, platform: str
) -> None:
    publisher = make_publisher()
    _, token, key = make_reader(publisher)
    channel_id = open_channel(
        sandbox_url, destination=platform, tag=None, public_key=key.public_key
    )
    response = api.post("channels", {"channel_id": channel_id}, auth=f"Reader {token}")
    assert response.status_code == 422
    assert error_code(response) == "channel_wrong_destination_tag"
    assert not Channel.objects.filter(channel_id=channel_id).exists()


def test_a_channel_with_another_claim_key_is_refused(api, sandbox_url: str, platform: str) -> None:
    publisher = make_publisher()
    _, token, _ = make_reader(publisher)
    channel_id = open_channel(
        sandbox_url,
        destination=platform,
        tag=publisher.destination_tag,
        public_key=claim_key().public_key,
    )
    response = api.post("channels", {"channel_id": channel_id}, auth=f"Reader {token}")
    assert response.status_code == 422
    assert error_code(response) == "channel_wrong_key"
    assert not Channel.objects.filter(channel_id=channel_id).exists()
