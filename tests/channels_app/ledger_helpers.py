"""Reader-side ledger actions for integration tests, done with xrpl-py against the sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xrpl.clients import JsonRpcClient
from xrpl.models.requests import LedgerEntry
from xrpl.models.transactions import (
    PaymentChannelClaim,
    PaymentChannelClaimFlag,
    PaymentChannelCreate,
)
from xrpl.transaction import submit_and_wait
from xrpl.wallet import Wallet

from tests.channels_app.factories import ClaimKey, claim_key
from tests.fixtures.sandbox import fund_account


@dataclass(frozen=True)
class ReaderChannel:
    wallet: Wallet
    key: ClaimKey
    channel_id: str


def created_channel_id(result: dict[str, Any]) -> str:
    for affected in result["meta"]["AffectedNodes"]:
        node = affected.get("CreatedNode")
        if node and node["LedgerEntryType"] == "PayChannel":
            return str(node["LedgerIndex"]).upper()
    raise AssertionError(f"no PayChannel created: {result['meta']}")


def open_reader_channel(
    url: str,
    *,
    destination: str,
    amount_drops: int = 10_000_000,
    settle_delay: int = 3600,
    cancel_after: int | None = None,
    key: ClaimKey | None = None,
) -> ReaderChannel:
    """Fund a new reader wallet and open a channel to `destination` with a separate claim key."""
    wallet = Wallet.create()
    fund_account(url, wallet.address, amount_drops + 20_000_000)
    key = key or claim_key()
    response = submit_and_wait(
        PaymentChannelCreate(
            account=wallet.address,
            destination=destination,
            amount=str(amount_drops),
            settle_delay=settle_delay,
            public_key=key.public_key,
            cancel_after=cancel_after,
        ),
        JsonRpcClient(url),
        wallet,
    )
    assert response.result["meta"]["TransactionResult"] == "tesSUCCESS", response.result
    return ReaderChannel(wallet=wallet, key=key, channel_id=created_channel_id(response.result))


def reader_requests_close(url: str, channel: ReaderChannel) -> dict[str, Any]:
    response = submit_and_wait(
        PaymentChannelClaim(
            account=channel.wallet.address,
            channel=channel.channel_id,
            flags=PaymentChannelClaimFlag.TF_CLOSE,
        ),
        JsonRpcClient(url),
        channel.wallet,
    )
    assert response.result["meta"]["TransactionResult"] == "tesSUCCESS", response.result
    return response.result


def ledger_channel(url: str, channel_id: str) -> dict[str, Any] | None:
    response = JsonRpcClient(url).request(
        LedgerEntry(payment_channel=channel_id, ledger_index="validated")
    )
    return response.result["node"] if response.is_successful() else None
