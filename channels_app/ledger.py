"""The one door to the XRP Ledger: xrpl-py's JSON-RPC client against settings.XRPL_URL.

The same code talks to rippled (mainnet, testnet, standalone) and to the sandbox ledger.
Transport failures become `LedgerUnavailable` (HTTP 503 at the API); answers are parsed
into frozen value objects here and nowhere else.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from django.conf import settings
from xrpl.asyncio.clients import XRPLRequestFailureException
from xrpl.clients import JsonRpcClient
from xrpl.models.requests import GenericRequest
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import autofill

from channels_app.exceptions import LedgerUnavailable
from channels_app.types import LedgerChannel, LedgerInfo, SubmitResult, TxStatus

logger = logging.getLogger(__name__)

_TRANSPORT_ERRORS = (httpx.HTTPError, OSError, XRPLRequestFailureException, ValueError)
# Errors that mean "the server is not ready", not "your request is wrong".
_UNAVAILABLE_ERRORS = {"noNetwork", "noCurrent", "noClosed", "tooBusy", "notSynced", "slowDown"}


class LedgerRequestError(Exception):
    """rippled answered with an error for this request (e.g. entryNotFound, txnNotFound)."""

    def __init__(self, error: str, message: str = "") -> None:
        super().__init__(f"{error}: {message}" if message else error)
        self.error = error


def client() -> JsonRpcClient:
    return JsonRpcClient(settings.XRPL_URL)


def ledger_request(method: str, **params: Any) -> dict[str, Any]:
    """Send one JSON-RPC request and return its `result`, or raise."""
    try:
        response = client().request(GenericRequest(method=method, **params))  # type: ignore[arg-type]
    except _TRANSPORT_ERRORS as exc:
        logger.warning("ledger %s failed: %s", method, type(exc).__name__)
        raise LedgerUnavailable() from exc
    result: dict[str, Any] = response.result
    if not response.is_successful():
        error = str(result.get("error", "unknown"))
        if error in _UNAVAILABLE_ERRORS:
            raise LedgerUnavailable()
        raise LedgerRequestError(error, str(result.get("error_message", "")))
    return result


def ledger_network_info() -> dict[str, Any]:
    return {"kind": settings.XRPL_LEDGER_KIND, "url": settings.XRPL_URL}


def validated_ledger() -> LedgerInfo:
    result = ledger_request("ledger", ledger_index="validated")
    ledger = result["ledger"]
    return LedgerInfo(
        ledger_index=int(result["ledger_index"]), close_time=int(ledger["close_time"])
    )


def _optional_int(node: dict[str, Any], field: str) -> int | None:
    return int(node[field]) if field in node else None


def channel_entry(channel_id: str) -> LedgerChannel | None:
    """The PayChannel entry in the latest validated ledger, or None if it does not exist."""
    try:
        result = ledger_request(
            "ledger_entry", payment_channel=channel_id.upper(), ledger_index="validated"
        )
    except LedgerRequestError as exc:
        if exc.error in {"entryNotFound", "objectNotFound"}:
            return None
        raise
    node = result["node"]
    return LedgerChannel(
        channel_id=str(result.get("index", channel_id)).upper(),
        source_address=node["Account"],
        destination_address=node["Destination"],
        amount_drops=int(node["Amount"]),
        balance_drops=int(node.get("Balance", "0")),
        public_key=str(node.get("PublicKey", "")).upper(),
        settle_delay=int(node["SettleDelay"]),
        expiration=_optional_int(node, "Expiration"),
        cancel_after=_optional_int(node, "CancelAfter"),
        destination_tag=_optional_int(node, "DestinationTag"),
        ledger_index=int(result.get("ledger_index", 0)),
    )


def account_balance(address: str) -> int | None:
    """The account's XRP balance in drops in the validated ledger, or None if it does not exist."""
    try:
        result = ledger_request("account_info", account=address, ledger_index="validated")
    except LedgerRequestError as exc:
        if exc.error == "actNotFound":
            return None
        raise
    return int(result["account_data"]["Balance"])


def transaction_autofill(transaction: Transaction) -> Transaction:
    """Fill Sequence, Fee and LastLedgerSequence from the ledger."""
    try:
        return autofill(transaction, client())
    except _TRANSPORT_ERRORS as exc:
        raise LedgerUnavailable() from exc


def submit_blob(tx_blob: str) -> SubmitResult:
    result = ledger_request("submit", tx_blob=tx_blob)
    return SubmitResult(
        engine_result=str(result.get("engine_result", "")),
        tx_hash=str(result.get("tx_json", {}).get("hash", "")).upper(),
        accepted=bool(result.get("accepted", True)),
    )


def transaction_status(tx_hash: str) -> TxStatus | None:
    """Where a transaction stands, or None if the server has never seen it."""
    try:
        result = ledger_request("tx", transaction=tx_hash)
    except LedgerRequestError as exc:
        if exc.error == "txnNotFound":
            return None
        raise
    meta = result.get("meta") or result.get("metaData") or {}
    if not isinstance(meta, dict):
        meta = {}
    tx_json = result.get("tx_json", result)
    balance_after, deleted = _channel_outcome(meta)
    return TxStatus(
        tx_hash=tx_hash.upper(),
        validated=bool(result.get("validated", False)),
        result=meta.get("TransactionResult"),
        ledger_index=_optional_int(result, "ledger_index"),
        fee_drops=int(tx_json.get("Fee", "0")),
        channel_balance_after=balance_after,
        channel_deleted=deleted,
    )


def _channel_outcome(meta: dict[str, Any]) -> tuple[int | None, bool]:
    """The PayChannel's Balance after the transaction, from AffectedNodes, and if it was deleted.

    A claim that arrives after Expiration deletes the channel *without* paying: its final
    Balance is then the old one. Only the metadata says what really moved.
    """
    for affected in meta.get("AffectedNodes", []):
        for kind, node in affected.items():
            if node.get("LedgerEntryType") != "PayChannel":
                continue
            fields = node.get("FinalFields") or node.get("NewFields") or {}
            balance = int(fields.get("Balance", "0"))
            return balance, kind == "DeletedNode"
    return None, False
