"""Attacks on payment channels, on the real sandbox ledger. Each shows that nothing is lost:
the reader pays only what they signed for, the platform redeems everything it accepted, and
the journal reconciles with the ledger afterwards.

(The forged multisign payout and the stolen regular key are in the key-management suite.)
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from xrpl.clients import JsonRpcClient
from xrpl.models.transactions import PaymentChannelClaim, PaymentChannelClaimFlag
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import autofill_and_sign
from xrpl.transaction import submit as xrpl_submit
from xrpl.wallet import Wallet

from channels_app import ledger
from channels_app.exceptions import Conflict
from channels_app.models import (
    Channel,
    Claim,
    Settlement,
    SettlementStatus,
    WatchtowerAlert,
)
from channels_app.selectors import journal_balance
from channels_app.services.channels import channel_register
from channels_app.services.platform import journal_reconcile, platform_bootstrap
from channels_app.services.settlement import _prepare, settlement_run
from channels_app.services.watchtower import watchtower_scan
from channels_app.tasks import settle_channel
from paywall.models import Unlock
from tests.channels_app.ledger_helpers import (
    ReaderChannel,
    ledger_channel,
    open_reader_channel,
    reader_requests_close,
)
from tests.fixtures.sandbox import advance_ledger_time, sandbox_rpc
from tests.paywall.factories import make_article, make_publisher, make_reader
from tests.paywall.helpers import Api, error_code

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PRICE = 250_000


@pytest.fixture
def platform(settings, sandbox_url: str) -> str:
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS = 60
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12  # settle only when a test asks
    settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS = 20
    cache.clear()
    return str(platform_bootstrap()["address"])


class Site:
    """A publisher with priced articles, and its readers with channels on the sandbox."""

    def __init__(self, client: Any, url: str, platform: str) -> None:
        self.api = Api(client)
        self.url = url
        self.platform = platform
        self.publisher = make_publisher()
        self.articles = [
            make_article(self.publisher, slug=f"story-{n}", title=f"Story {n}", price_drops=PRICE)
            for n in range(4)
        ]

    def reader(self, **channel: Any) -> tuple[str, ReaderChannel, Channel]:
        reader, token, key = make_reader(self.publisher)
        opened = open_reader_channel(self.url, destination=self.platform, key=key, **channel)
        channel_register(
            channel_id=opened.channel_id,
            public_key=key.public_key,
            owner_ref=reader.public_id,
            destination_tag=None,
        )
        return f"Reader {token}", opened, Channel.objects.get(channel_id=opened.channel_id)

    def unlock(self, auth: str, article: int, claim: dict[str, str]) -> Any:
        return self.api.post(
            "unlocks", {"article": self.articles[article].slug, "claim": claim}, auth=auth
        )


def signed(channel: ReaderChannel, amount: int, channel_id: str | None = None) -> dict[str, str]:
    target = channel_id or channel.channel_id
    return {
        "channel_id": target,
        "amount_drops": str(amount),
        "signature": channel.key.sign(target, amount),
    }


def books(channel: Channel) -> tuple[int, int, int]:
    channel.refresh_from_db()
    return (
        channel.accepted_drops,
        Claim.objects.filter(channel=channel).count(),
        Unlock.objects.count(),
    )


def submit(url: str, wallet: Wallet, transaction: Transaction) -> str:
    """Sign and submit as `wallet`; return the validated result code (tec codes included)."""
    client = JsonRpcClient(url)
    signed_tx = autofill_and_sign(transaction, client, wallet)
    preliminary = xrpl_submit(signed_tx, client).result["engine_result"]
    if not preliminary.startswith(("tes", "tec", "ter")):
        return str(preliminary)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        result = sandbox_rpc(url, "tx", transaction=signed_tx.get_hash())
        if result.get("validated"):
            return str(result["meta"]["TransactionResult"])
        time.sleep(0.1)
    raise AssertionError(f"{signed_tx.get_hash()} was not validated")


def test_an_old_lower_claim_after_a_higher_one_gains_nothing(client, sandbox_url, platform) -> None:
    site = Site(client, sandbox_url, platform)
    auth, reader, channel = site.reader()
    # given two articles paid with cumulative claims of 1 and 2 prices
    old, high = signed(reader, PRICE), signed(reader, 2 * PRICE)
    assert site.unlock(auth, 0, old).status_code == 201
    assert site.unlock(auth, 1, high).status_code == 201
    before = books(channel)
    # when the old (lower) claim, or the high one again, is offered for a third article
    stale = site.unlock(auth, 2, old)
    replayed = site.unlock(auth, 2, high)
    # then both are refused and nothing changes
    assert (stale.status_code, error_code(stale)) == (409, "claim_stale")
    assert (replayed.status_code, error_code(replayed)) == (409, "claim_replayed")
    assert books(channel) == before

    # given the platform redeemed the high claim on the ledger
    assert settlement_run(channel_pk=channel.pk, reason="test").state == "validated"
    platform_balance = ledger.account_balance(platform)
    # when the platform's own engine is asked to redeem the old claim, it refuses to even
    # sign it: the channel row (under its lock) already shows the higher amount redeemed
    settlements_before = Settlement.objects.count()
    replay = _prepare(
        channel,
        balance_drops=PRICE,
        signature=old["signature"],
        close=False,
        reason="old-claim-replay",
    )
    assert replay is None
    assert Settlement.objects.count() == settlements_before
    # and when the reader (the source) offers a lower Balance itself, the ledger refuses it
    own = submit(
        sandbox_url,
        reader.wallet,
        PaymentChannelClaim(
            account=reader.wallet.address,
            channel=reader.channel_id,
            balance=str(PRICE),
            amount=str(PRICE),
        ),
    )
    assert own == "tecUNFUNDED_PAYMENT"
    # then the channel still shows the high claim paid and the platform lost nothing
    node = ledger_channel(sandbox_url, reader.channel_id)
    assert node is not None and int(node["Balance"]) == 2 * PRICE
    assert ledger.account_balance(platform) == platform_balance
    assert journal_balance("claims_receivable", reader.channel_id) == 0
    assert settlement_run(channel_pk=channel.pk, reason="again").state == "nothing_to_do"
    assert journal_reconcile().ok


def test_a_claim_for_someone_elses_channel_is_refused_everywhere(
    client, sandbox_url, platform
) -> None:
    site = Site(client, sandbox_url, platform)
    mallory_auth, mallory, mallory_row = site.reader()
    _alice_auth, alice, alice_row = site.reader()
    alice_before, mallory_before = books(alice_row), books(mallory_row)
    # Alice's genuine claim, intercepted by Mallory, and one Mallory signs for Alice's channel
    intercepted = signed(alice, PRICE)
    forged = signed(mallory, PRICE, channel_id=alice.channel_id)
    for claim in (intercepted, forged):
        response = site.unlock(mallory_auth, 0, claim)
        assert (response.status_code, error_code(response)) == (403, "channel_not_owned")
    # Alice's signature moved onto Mallory's own channel does not verify there
    moved = {**intercepted, "channel_id": mallory.channel_id}
    response = site.unlock(mallory_auth, 0, moved)
    assert (response.status_code, error_code(response)) == (422, "claim_signature_invalid")
    # Mallory cannot take over Alice's channel by registering it
    with pytest.raises(Conflict) as taken:
        channel_register(
            channel_id=alice.channel_id,
            public_key=alice.key.public_key,
            owner_ref="mallory",
            destination_tag=None,
        )
    assert taken.value.code == "channel_taken"
    # nor redeem Alice's claim on the ledger: only the channel's destination may
    on_ledger = submit(
        sandbox_url,
        mallory.wallet,
        PaymentChannelClaim(
            account=mallory.wallet.address,
            channel=alice.channel_id,
            balance=str(PRICE),
            amount=str(PRICE),
            signature=intercepted["signature"],
            public_key=alice.key.public_key,
        ),
    )
    assert on_ledger == "tecNO_PERMISSION"
    # nothing was charged to Alice, nothing was unlocked for Mallory
    assert books(alice_row) == alice_before and books(mallory_row) == mallory_before
    node = ledger_channel(sandbox_url, alice.channel_id)
    assert node is not None and int(node.get("Balance", "0")) == 0
    assert journal_reconcile().ok


def test_a_source_closing_on_an_unredeemed_claim_loses_the_race_to_the_watchtower(
    client, sandbox_url, platform
) -> None:
    site = Site(client, sandbox_url, platform)
    auth, reader, channel = site.reader(settle_delay=60)
    # given two articles read and paid for, nothing redeemed yet
    assert site.unlock(auth, 0, signed(reader, PRICE)).status_code == 201
    assert site.unlock(auth, 1, signed(reader, 2 * PRICE)).status_code == 201
    platform_before = ledger.account_balance(platform)
    reader_before = ledger.account_balance(reader.wallet.address)
    # when the reader asks to close, waits out most of the SettleDelay, and tries to remove
    # the channel early, hoping the platform misses the Expiration
    closed = reader_requests_close(sandbox_url, reader)
    expiration = next(
        int(n["ModifiedNode"]["FinalFields"]["Expiration"])
        for n in closed["meta"]["AffectedNodes"]
        if n.get("ModifiedNode", {}).get("LedgerEntryType") == "PayChannel"
    )
    advance_ledger_time(sandbox_url, 30)
    early = submit(
        sandbox_url,
        reader.wallet,
        PaymentChannelClaim(
            account=reader.wallet.address,
            channel=reader.channel_id,
            flags=PaymentChannelClaimFlag.TF_CLOSE,
        ),
    )
    assert early == "tesSUCCESS"
    node = ledger_channel(sandbox_url, reader.channel_id)
    assert node is not None and int(node["Expiration"]) == expiration  # not brought forward
    # then the watchtower's scan decides to settle and close, and the task door does it
    decisions = {d.channel_pk: d for d in watchtower_scan()}
    assert decisions[channel.pk].action == "settle_and_close"
    result = settle_channel.apply(args=(channel.pk, decisions[channel.pk].reason, True)).get()
    assert result["state"] == "validated", result
    settlement = Settlement.objects.get(channel=channel, status=SettlementStatus.VALIDATED)
    landed = ledger.ledger_request("ledger", ledger_index=settlement.ledger_index)["ledger"]
    assert int(landed["close_time"]) < expiration
    assert ledger_channel(sandbox_url, reader.channel_id) is None
    # and nothing is lost: the platform got every accepted drop, the reader the rest
    fee = settlement.fee_drops
    assert ledger.account_balance(platform) == platform_before + 2 * PRICE - fee
    refund = 10_000_000 - 2 * PRICE
    assert ledger.account_balance(reader.wallet.address) >= reader_before + refund - 100
    assert journal_balance("claims_receivable", reader.channel_id) == 0
    assert not WatchtowerAlert.objects.filter(code__in=["claim_lost", "deadline_passed"]).exists()
    # and a late removal attempt after the Expiration finds nothing to take
    advance_ledger_time(sandbox_url, 60)
    late = submit(
        sandbox_url,
        reader.wallet,
        PaymentChannelClaim(account=reader.wallet.address, channel=reader.channel_id),
    )
    assert late == "tecNO_TARGET"
    assert journal_reconcile().ok
