"""The agent client: GET a machine URL; on 402 pick a scheme, pay within the spend limit,
and send the request again with PAYMENT-SIGNATURE."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519
from xrpl.clients import JsonRpcClient
from xrpl.core.binarycodec import encode_for_signing_claim
from xrpl.ledger import get_latest_validated_ledger_sequence
from xrpl.models.transactions import Payment, PaymentChannelCreate
from xrpl.transaction import autofill, sign, submit_and_wait
from xrpl.wallet import Wallet

LEDGER_WINDOW = 20


class PaymentError(Exception):
    """The server refused the payment, or offered nothing this client can pay."""


class SpendLimitExceeded(PaymentError):
    """Paying would take the client past its spend limit; nothing was signed."""


def _b64(value: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


@dataclass
class _Channel:
    channel_id: str
    public_key: str
    signer: ed25519.Ed25519PrivateKey
    funded_drops: int
    cumulative_drops: int = 0


class AgentClient:
    """Pays for what it GETs, up to `spend_limit_drops` in total.

    `scheme` is "auto" (paychan once a channel is open, else exact), "exact" or "paychan".
    Calls are serialised: claims on one channel must be signed in order.
    """

    def __init__(
        self,
        wallet: Wallet,
        *,
        rpc_url: str,
        spend_limit_drops: int,
        scheme: str = "auto",
        http: httpx.Client | None = None,
    ) -> None:
        if spend_limit_drops < 0:
            raise ValueError("spend_limit_drops must not be negative")
        self.wallet = wallet
        self.ledger = JsonRpcClient(rpc_url)
        self.spend_limit_drops = spend_limit_drops
        self.spent_drops = 0
        self.scheme = scheme
        self.http = http or httpx.Client(timeout=60.0)
        self.channel: _Channel | None = None
        self._lock = threading.Lock()
        # How long the last request that carried a payment took (seconds), 402 excluded.
        self.last_paid_request_seconds = 0.0

    @classmethod
    def from_seed(cls, seed: str, **kwargs: Any) -> AgentClient:
        return cls(Wallet.from_seed(seed), **kwargs)

    # -- paychan -------------------------------------------------------------------------------

    def open_channel(
        self, drops: int, *, destination: str | None = None, settle_delay: int = 86_400
    ) -> str:
        """Open a payment channel to the platform with a fresh claim key (never the funding
        key). `destination` defaults to the payTo of the first 402 seen; returns its id.
        The channel's funding counts against the spend limit."""
        if destination is None:
            raise ValueError("destination (the offer's payTo) is required")
        self._reserve(drops)
        # A fresh Ed25519 claim key, signed with `cryptography` (xrpl-py's pure-Python Ed25519
        # takes ~20 ms a claim); its public key in XRPL form is "ED" + the 32 raw bytes.
        signer = ed25519.Ed25519PrivateKey.generate()
        public = "ED" + signer.public_key().public_bytes_raw().hex().upper()
        response = submit_and_wait(
            PaymentChannelCreate(
                account=self.wallet.address,
                destination=destination,
                amount=str(drops),
                settle_delay=settle_delay,
                public_key=public,
            ),
            self.ledger,
            self.wallet,
        )
        meta = response.result.get("meta", {})
        if meta.get("TransactionResult") != "tesSUCCESS":
            self.spent_drops -= drops
            raise PaymentError(f"channel not opened: {meta.get('TransactionResult')}")
        for node in meta.get("AffectedNodes", []):
            created = node.get("CreatedNode", {})
            if created.get("LedgerEntryType") == "PayChannel":
                channel_id = str(created["LedgerIndex"]).upper()
                self.channel = _Channel(channel_id, public, signer, drops)
                return channel_id
        raise PaymentError("the ledger created no channel")

    def _paychan_payload(self, requirement: dict[str, Any]) -> dict[str, Any]:
        channel = self.channel
        if channel is None:
            raise PaymentError("no channel is open (call open_channel first)")
        amount = channel.cumulative_drops + int(requirement["amount"])
        if amount > channel.funded_drops:
            raise SpendLimitExceeded("the channel holds too little; open a new one")
        message = bytes.fromhex(
            encode_for_signing_claim({"channel": channel.channel_id, "amount": str(amount)})
        )
        return {
            "channel": channel.channel_id,
            "amount": str(amount),
            "signature": channel.signer.sign(message).hex().upper(),
            "publicKey": channel.public_key,
        }

    # -- exact ---------------------------------------------------------------------------------

    def _exact_payload(self, requirement: dict[str, Any]) -> dict[str, Any]:
        amount = int(requirement["amount"])
        self._reserve(amount)
        extra = requirement.get("extra") or {}
        last = get_latest_validated_ledger_sequence(self.ledger) + LEDGER_WINDOW
        payment = Payment(
            account=self.wallet.address,
            destination=requirement["payTo"],
            amount=str(amount),
            destination_tag=extra.get("destinationTag"),
            invoice_id=extra.get("invoiceId"),
            last_ledger_sequence=last,
        )
        signed = sign(autofill(payment, self.ledger), self.wallet)
        return {"txBlob": signed.blob()}

    # -- the request ---------------------------------------------------------------------------

    def _reserve(self, drops: int) -> None:
        if self.spent_drops + drops > self.spend_limit_drops:
            raise SpendLimitExceeded(
                f"paying {drops} drops would pass the limit of {self.spend_limit_drops}"
            )
        self.spent_drops += drops

    def _choose(self, accepts: list[dict[str, Any]]) -> dict[str, Any]:
        wanted = self.scheme
        if wanted == "auto":
            wanted = "paychan" if self.channel is not None else "exact"
        for requirement in accepts:
            if requirement.get("scheme") == wanted and requirement.get("asset") == "XRP":
                return requirement
        raise PaymentError(f"the server offers no {wanted} payment")

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET `url`, paying once if the server answers 402. Raises SpendLimitExceeded before
        signing anything past the limit, PaymentError if the paid request is refused."""
        with self._lock:
            first = self.http.get(url, **kwargs)
            if first.status_code != 402 or "PAYMENT-REQUIRED" not in first.headers:
                return first
            required = json.loads(base64.b64decode(first.headers["PAYMENT-REQUIRED"]))
            requirement = self._choose(list(required.get("accepts", [])))
            if requirement["scheme"] == "paychan":
                if self.spent_drops > self.spend_limit_drops:
                    raise SpendLimitExceeded("the spend limit is reached")
                payload = self._paychan_payload(requirement)
            else:
                payload = self._exact_payload(requirement)
            header = _b64(
                {
                    "x402Version": 2,
                    "accepted": requirement,
                    "payload": payload,
                    "resource": required.get("resource"),
                }
            )
            headers = dict(kwargs.pop("headers", None) or {})
            headers["PAYMENT-SIGNATURE"] = header
            started = time.perf_counter()
            paid = self.http.get(url, headers=headers, **kwargs)
            self.last_paid_request_seconds = time.perf_counter() - started
            if paid.status_code == 200 and requirement["scheme"] == "paychan":
                assert self.channel is not None
                self.channel.cumulative_drops = int(payload["amount"])
            if paid.status_code != 200:
                if requirement["scheme"] == "exact" and paid.status_code in (400, 402, 403):
                    self.spent_drops -= int(requirement["amount"])  # refused before the ledger
                raise PaymentError(f"payment refused: {paid.status_code} {paid.text[:200]}")
            return paid
