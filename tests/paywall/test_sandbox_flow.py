"""The reader's whole path over HTTP against the real sandbox ledger: register the channel the
reader opened (with the publisher's destination tag), pay with a claim, read the content."""

from __future__ import annotations

from typing import Any

import pytest
from xrpl.clients import JsonRpcClient
from xrpl.constants import CryptoAlgorithm
from xrpl.core import keypairs
from xrpl.models.transactions import PaymentChannelCreate
from xrpl.transaction import submit_and_wait
from xrpl.wallet import Wallet

from channels_app import ledger
from channels_app.models import Channel, Settlement, SettlementStatus
from channels_app.selectors import journal_balance
from channels_app.services.platform import platform_bootstrap
from channels_app.tasks import settle_channel
from paywall.services.readers import claim_key_rotation_message
from tests.channels_app.factories import ClaimKey, claim_key
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


def test_rotating_the_claim_key_settles_and_closes_the_old_channel(
    api, sandbox_url: str, platform: str, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    # given a reader who paid from a channel under its first key
    publisher = make_publisher()
    first = make_article(publisher, price_drops=PRICE)
    second = make_article(publisher, slug="second-story", price_drops=PRICE)
    reader, token, old_key = make_reader(publisher)
    auth = f"Reader {token}"

    def open_for(key: ClaimKey) -> str:
        return open_channel(
            sandbox_url,
            destination=platform,
            tag=publisher.destination_tag,
            public_key=key.public_key,
        )

    def pay(article_slug: str, channel_id: str, key: ClaimKey, amount: int) -> Any:
        claim = {
            "channel_id": channel_id,
            "amount_drops": str(amount),
            "signature": key.sign(channel_id, amount),
        }
        return api.post("unlocks", {"article": article_slug, "claim": claim}, auth=auth)

    old_channel = open_for(old_key)
    assert api.post("channels", {"channel_id": old_channel}, auth=auth).status_code == 200
    assert pay(first.slug, old_channel, old_key, PRICE).status_code == 201
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        settle_channel, "apply_async", lambda args=(), kwargs=None, **_: queued.append(args)
    )

    # when the reader rotates to a new key
    new_key = claim_key(CryptoAlgorithm.SECP256K1)
    message = claim_key_rotation_message(
        reader_id=reader.public_id, public_key=bytes.fromhex(new_key.public_key)
    )
    with django_capture_on_commit_callbacks(execute=True):
        rotated = api.post(
            "readers/me/claim-key",
            {
                "public_key": new_key.public_key,
                "proof": keypairs.sign(message, new_key.private_key),
            },
            auth=auth,
        )
    assert rotated.status_code == 201, rotated.content
    assert rotated.json()["closing_channels"] == [old_channel]

    # then the queued settlement redeems the accepted claim and closes the old channel
    row = Channel.objects.get(channel_id=old_channel)
    assert queued == [(row.pk, "key_rotation", True)]
    result = settle_channel.apply(args=queued[0]).get()
    assert result["state"] == "validated", result
    settlement = Settlement.objects.get(channel=row, status=SettlementStatus.VALIDATED)
    assert (settlement.close, settlement.balance_drops, settlement.reason) == (
        True,
        PRICE,
        "key_rotation",
    )
    assert ledger.channel_entry(old_channel) is None
    assert journal_balance("claims_receivable", old_channel) == 0
    refused = pay(second.slug, old_channel, old_key, 2 * PRICE)
    assert refused.status_code == 409
    assert error_code(refused) == "channel_retired"

    # and a channel for the old key is refused while one for the new key registers and pays
    stale = api.post("channels", {"channel_id": open_for(old_key)}, auth=auth)
    assert error_code(stale) == "channel_wrong_key"
    new_channel = open_for(new_key)
    assert api.post("channels", {"channel_id": new_channel}, auth=auth).status_code == 200
    paid = pay(second.slug, new_channel, new_key, PRICE)
    assert paid.status_code == 201, paid.content
