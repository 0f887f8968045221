"""Fixtures of the payouts suite: the platform's hot account and vault on the session sandbox,
and helpers that earn publishers redeemed revenue through the real claim and settlement path."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from xrpl.clients import JsonRpcClient
from xrpl.models.transactions import PaymentChannelCreate
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import autofill_and_sign, submit
from xrpl.wallet import Wallet

from channels_app import clock
from channels_app.keys.services import platform_address
from channels_app.models import Channel
from channels_app.payouts.services.vault import vault_bootstrap, vault_ensure
from channels_app.services.channels import channel_register
from channels_app.services.claims import claim_accept
from channels_app.services.platform import platform_bootstrap
from channels_app.services.settlement import settlement_run
from tests.channels_app.factories import claim_key
from tests.channels_app.ledger_helpers import ReaderChannel, created_channel_id
from tests.fixtures.sandbox import fund_account, sandbox_rpc

FEE_BPS = 1000


@pytest.fixture
def platform(settings, sandbox_url: str, db) -> str:
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS = 60
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12  # settle only when a test asks
    settings.DROPGATE_PAYOUT_HOLDBACK_SECONDS = 7 * 86_400
    settings.DROPGATE_PAYOUT_MULTISIGN_THRESHOLD_DROPS = 5_000_000
    settings.DROPGATE_PAYOUT_MIN_DROPS = 1_000_000
    settings.DROPGATE_HOT_FLOAT_CAP_DROPS = 10**15  # no sweep unless a test asks
    settings.DROPGATE_PAYOUT_WAIT_SECONDS = 10
    settings.DROPGATE_PAYOUTS_PAUSED = False
    # Funded here (fast polling); the bootstrap then only journals the opening balance.
    fund_account(sandbox_url, platform_address(), 1_000_000_000)
    return str(platform_bootstrap()["address"])


@pytest.fixture
def vault(platform: str, sandbox_url: str) -> str:
    fund_account(sandbox_url, vault_ensure().address, 100_000_000)
    return str(vault_bootstrap()["address"])


@pytest.fixture
def after_holdback() -> Iterator[None]:
    """Move the app clock past the holdback window (ledger time is untouched)."""
    with clock.override(timedelta(days=8)):
        yield


@dataclass
class Earner:
    """A reader channel to the platform whose claims pay whichever publisher a test names."""

    reader: ReaderChannel
    channel: Channel
    cumulative: int = 0

    def pay(self, payee_ref: str, drops: int) -> None:
        self.cumulative += drops
        claim_accept(
            channel_id=self.reader.channel_id,
            amount_drops=self.cumulative,
            signature=self.reader.key.sign(self.reader.channel_id, self.cumulative),
            min_increment_drops=drops,
            payee_ref=payee_ref,
            fee_bps=FEE_BPS,
            reference=f"unlock:{payee_ref}:{self.cumulative}",
        )

    def redeem(self) -> None:
        outcome = settlement_run(channel_pk=self.channel.pk, reason="test", wait_seconds=10)
        assert outcome.state == "validated", outcome
        self.channel.refresh_from_db()


def _submit_validated(url: str, wallet: Wallet, tx: Transaction) -> dict[str, Any]:
    """Sign, submit and poll every 50 ms until validated (xrpl-py's own wait polls each second)."""
    signed = autofill_and_sign(tx, JsonRpcClient(url), wallet)
    assert submit(signed, JsonRpcClient(url)).result["engine_result"] == "tesSUCCESS"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        result = sandbox_rpc(url, "tx", transaction=signed.get_hash())
        if result.get("validated"):
            assert result["meta"]["TransactionResult"] == "tesSUCCESS", result
            return result
        time.sleep(0.05)
    raise AssertionError("not validated in time")


def open_earner(sandbox_url: str, platform: str, *, amount_drops: int = 60_000_000) -> Earner:
    wallet = Wallet.create()
    fund_account(sandbox_url, wallet.address, amount_drops + 20_000_000)
    key = claim_key()
    created = _submit_validated(
        sandbox_url,
        wallet,
        PaymentChannelCreate(
            account=wallet.address,
            destination=platform,
            amount=str(amount_drops),
            settle_delay=3600,
            public_key=key.public_key,
        ),
    )
    reader = ReaderChannel(wallet=wallet, key=key, channel_id=created_channel_id(created))
    channel_register(
        channel_id=reader.channel_id,
        public_key=reader.key.public_key,
        owner_ref=f"rdr_{reader.channel_id[:8]}",
        destination_tag=None,
    )
    return Earner(reader=reader, channel=Channel.objects.get(channel_id=reader.channel_id))


@pytest.fixture
def earner(sandbox_url: str, platform: str) -> Earner:
    return open_earner(sandbox_url, platform)


def net(drops: int) -> int:
    """What a publisher keeps of `drops` after the platform fee."""
    return drops - drops * FEE_BPS // 10_000


def new_address() -> str:
    return Wallet.create().classic_address
