"""Helpers of the key-management suite: an attacker's copy of a key, raw submissions, and a
channel settled through the product's own settlement service."""

from __future__ import annotations

import time
from dataclasses import dataclass

from xrpl.clients import JsonRpcClient
from xrpl.core.binarycodec import encode, encode_for_signing
from xrpl.models.transactions import Payment, PaymentChannelCreate
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import autofill, autofill_and_sign
from xrpl.wallet import Wallet

from channels_app.keys import hd
from channels_app.keys.crypto import Algorithm, software_sign
from channels_app.keys.keystore import keystore
from channels_app.models import Channel, KeyRecord, Settlement
from channels_app.services.channels import channel_register
from channels_app.services.claims import claim_accept
from channels_app.services.settlement import settlement_run
from tests.channels_app.factories import claim_key
from tests.channels_app.ledger_helpers import ReaderChannel, created_channel_id
from tests.fixtures.sandbox import GENESIS_ADDRESS, fund_account, sandbox_rpc

PRICE = 250_000


@dataclass(frozen=True)
class StolenKey:
    """What an attacker who copied a software or HD key holds: the raw private key."""

    public_key: str
    secret: bytes
    algorithm: Algorithm

    def sign(self, tx: Transaction) -> str:
        tx_json = tx.to_xrpl()
        tx_json["SigningPubKey"] = self.public_key
        message = bytes.fromhex(encode_for_signing(tx_json))
        tx_json["TxnSignature"] = software_sign(self.secret, self.algorithm, message).hex().upper()
        return encode(tx_json)


def steal(record: KeyRecord) -> StolenKey:
    """Copy a key the way a thief with the database and the KEK (or the seed) would."""
    from channels_app.keys.services import _aad, _hd_seed

    if record.keystore == KeyRecord.Store.HD:
        secret = hd.derive(_hd_seed(), record.derivation_path).private_key
    else:
        secret = keystore(record.keystore).unseal(bytes(record.sealed), aad=_aad(record))
    return StolenKey(record.public_key, secret, Algorithm(record.algorithm))


def drain_attempt(url: str, stolen: StolenKey, account: str, drops: int = 1_000_000) -> str:
    """Try to pay `drops` out of `account` with a stolen key; returns the engine result."""
    tx = autofill(
        Payment(account=account, destination=GENESIS_ADDRESS, amount=str(drops)), JsonRpcClient(url)
    )
    return submit(url, stolen.sign(tx))


def submit(url: str, blob: str) -> str:
    return str(sandbox_rpc(url, "submit", tx_blob=blob)["engine_result"])


def submit_validated(url: str, blob: str, timeout: float = 15) -> str:
    submitted = sandbox_rpc(url, "submit", tx_blob=blob)
    if not submitted["engine_result"].startswith(("tes", "ter", "tec")):
        return str(submitted["engine_result"])
    tx_hash = submitted["tx_json"]["hash"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = sandbox_rpc(url, "tx", transaction=tx_hash)
        if result.get("validated"):
            return str(result["meta"]["TransactionResult"])
        time.sleep(0.05)
    raise AssertionError(f"{tx_hash} not validated")


def account_root(url: str, address: str) -> dict:
    return sandbox_rpc(url, "account_info", account=address, ledger_index="validated")


def open_channel(url: str, destination: str, amount_drops: int = 10_000_000) -> ReaderChannel:
    """`open_reader_channel`, polling every 50 ms instead of xrpl-py's 1 s (a faster suite)."""
    wallet = Wallet.create()
    fund_account(url, wallet.address, amount_drops + 20_000_000)
    key = claim_key()
    tx = autofill_and_sign(
        PaymentChannelCreate(
            account=wallet.address,
            destination=destination,
            amount=str(amount_drops),
            settle_delay=3600,
            public_key=key.public_key,
        ),
        JsonRpcClient(url),
        wallet,
    )
    assert submit_validated(url, encode(tx.to_xrpl())) == "tesSUCCESS"
    result = sandbox_rpc(url, "tx", transaction=tx.get_hash())
    return ReaderChannel(wallet=wallet, key=key, channel_id=created_channel_id(result))


def paid_channel(url: str, platform: str, units: int = 2) -> tuple[ReaderChannel, Channel]:
    """A reader channel to the platform, registered, with `units` unlocks accepted."""
    reader = open_channel(url, platform)
    channel_register(
        channel_id=reader.channel_id,
        public_key=reader.key.public_key,
        owner_ref="rdr_keys",
        destination_tag=None,
    )
    for n in range(1, units + 1):
        claim_accept(
            channel_id=reader.channel_id,
            amount_drops=n * PRICE,
            signature=reader.key.sign(reader.channel_id, n * PRICE),
            min_increment_drops=PRICE,
            payee_ref="pub_keys",
            fee_bps=1000,
            reference=f"unlock:{reader.channel_id[:8]}:{n}",
        )
    return reader, Channel.objects.get(channel_id=reader.channel_id)


def settle(channel: Channel, wait_seconds: float = 10) -> Settlement:
    outcome = settlement_run(channel_pk=channel.pk, reason="test", wait_seconds=wait_seconds)
    return Settlement.objects.get(tx_hash=outcome.tx_hash)


def signing_key_of(settlement: Settlement) -> str:
    from xrpl.core.binarycodec import decode

    return str(decode(settlement.tx_blob)["SigningPubKey"]).upper()
