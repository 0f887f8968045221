"""The `exact` scheme on XRPL: a presigned Payment blob, verified, submitted, validated.

Follows the public XRPL x402 `exact` scheme: a direct XRP Payment (no SendMax, no Paths, no
partial payment) of exactly the required drops to `payTo`, with the requirement's
DestinationTag and its invoice bound into InvoiceID, and a LastLedgerSequence that bounds its
life. The invoice binding accepts both forms the public clients use: InvoiceID equal to
`extra.invoiceId`, or to SHA-256 of it (then also carried in a Memo).

Order of events (an acknowledged payment is never lost): the blob is checked, then the
AgentPayment row is written (its unique invoice and hash refuse replays), then the blob is
submitted and the validated result awaited. A ledger outage after the row leaves it
`submitted`: the same header sent again finishes it, never charges twice.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from xrpl.core.binarycodec import decode, encode_for_signing
from xrpl.core.binarycodec.exceptions import XRPLBinaryCodecException
from xrpl.core.keypairs import is_valid_message

from agents.exceptions import PaymentMalformed, PaymentPending, PaymentRefused, PaymentReplayed
from agents.models import AgentPayment
from agents.services.offers import Invoice
from channels_app import ledger
from channels_app.exceptions import LedgerUnavailable
from channels_app.keys.services import platform_address
from channels_app.services.journal import credit, debit, journal_post
from paywall.models import Article

logger = logging.getLogger(__name__)

TF_PARTIAL_PAYMENT = 0x00020000
# Engine results after which the blob may still be (or already be) in a ledger.
_MAY_APPLY = {"tesSUCCESS", "terQUEUED", "terPRE_SEQ", "tefPAST_SEQ", "tefALREADY"}
MAX_BLOB_HEX_CHARS = 4096


@dataclass(frozen=True)
class CheckedPayment:
    """A presigned Payment that passed every check against its invoice."""

    tx_blob: str
    tx_hash: str
    payer: str
    amount_drops: int
    last_ledger_sequence: int


def tx_hash_of(blob_hex: str) -> str:
    """The transaction id of a signed blob: SHA-512Half of the `TXN\\0` prefix and the blob."""
    digest = hashlib.sha512(b"TXN\x00" + bytes.fromhex(blob_hex)).digest()
    return digest[:32].hex().upper()


def _refuse(code: str, message: str) -> PaymentRefused:
    return PaymentRefused(message, code=code)


def _blob_of(payload: dict[str, Any]) -> str:
    blob = payload.get("txBlob", payload.get("signedTxBlob"))
    if not isinstance(blob, str) or not blob or len(blob) > MAX_BLOB_HEX_CHARS:
        raise PaymentMalformed("payload.txBlob must be the signed transaction in hex.")
    try:
        bytes.fromhex(blob)
    except ValueError as exc:
        raise PaymentMalformed("payload.txBlob is not hex.") from exc
    return blob.upper()


def _invoice_bound(tx: dict[str, Any], invoice: Invoice) -> bool:
    field = str(tx.get("InvoiceID", "")).upper()
    hashed = hashlib.sha256(invoice.invoice_id.encode()).hexdigest().upper()
    return field in (invoice.invoice_id, hashed)


def _signature_valid(tx: dict[str, Any]) -> bool:
    """A single signature over the transaction (multisigned blobs are left to the ledger)."""
    if tx.get("Signers"):
        return True
    signature = tx.get("TxnSignature")
    public_key = tx.get("SigningPubKey")
    if not isinstance(signature, str) or not isinstance(public_key, str) or not public_key:
        return False
    unsigned = {key: value for key, value in tx.items() if key != "TxnSignature"}
    try:
        message = bytes.fromhex(encode_for_signing(unsigned))
        return bool(is_valid_message(message, bytes.fromhex(signature), public_key))
    except (ValueError, XRPLBinaryCodecException):
        return False


def exact_check(*, payload: dict[str, Any], invoice: Invoice) -> CheckedPayment:
    """Every rule of the scheme, cheapest first; changes nothing. Raises PaymentMalformed (400)
    or PaymentRefused (402) with the rule's code; LedgerUnavailable for the expiry window."""
    blob = _blob_of(payload)
    try:
        tx = decode(blob)
    except (XRPLBinaryCodecException, ValueError, KeyError, IndexError) as exc:
        raise PaymentMalformed("payload.txBlob does not decode as an XRPL transaction.") from exc
    if tx.get("TransactionType") != "Payment":
        raise _refuse("payment_not_payment", "The blob must be a Payment transaction.")
    amount = tx.get("Amount")
    if not isinstance(amount, str) or not amount.isdigit():
        raise _refuse("payment_not_xrp", "The Payment must deliver XRP drops.")
    if "SendMax" in tx or "Paths" in tx or int(tx.get("Flags", 0)) & TF_PARTIAL_PAYMENT:
        raise _refuse(
            "payment_not_direct", "A direct XRP payment: no SendMax, Paths or partial payment."
        )
    if tx.get("Destination") != invoice.pay_to or invoice.pay_to != platform_address():
        raise _refuse("payment_wrong_destination", "The Payment does not pay the payTo account.")
    if tx.get("DestinationTag") != invoice.destination_tag:
        raise _refuse("payment_wrong_destination_tag", "DestinationTag must be the requirement's.")
    if int(amount) < invoice.amount_drops:
        raise _refuse(
            "payment_underpaid", f"The Payment must deliver exactly {invoice.amount_drops} drops."
        )
    if int(amount) > invoice.amount_drops:
        raise _refuse(
            "payment_overpaid", f"The Payment must deliver exactly {invoice.amount_drops} drops."
        )
    if not _invoice_bound(tx, invoice):
        raise _refuse("payment_invoice_mismatch", "InvoiceID does not bind the invoice.")
    last = tx.get("LastLedgerSequence")
    if not isinstance(last, int):
        raise _refuse("payment_no_expiry", "LastLedgerSequence is required.")
    if "NetworkID" in tx and f"xrpl:{tx['NetworkID']}" != invoice.network:
        raise _refuse("network_mismatch", "The Payment names another network.")
    if not _signature_valid(tx):
        raise _refuse("payment_signature_invalid", "The Payment's signature does not verify.")
    validated = ledger.validated_ledger().ledger_index
    if last <= validated:
        raise _refuse("payment_expired", "The Payment's LastLedgerSequence has passed.")
    if last > validated + settings.DROPGATE_AGENT_MAX_LEDGER_WINDOW:
        raise _refuse(
            "payment_expiry_too_far",
            f"LastLedgerSequence may be at most {settings.DROPGATE_AGENT_MAX_LEDGER_WINDOW} "
            "ledgers ahead.",
        )
    return CheckedPayment(
        tx_blob=blob,
        tx_hash=tx_hash_of(blob),
        payer=str(tx.get("Account", "")),
        amount_drops=int(amount),
        last_ledger_sequence=last,
    )


def exact_reserve(
    *,
    checked: CheckedPayment,
    invoice: Invoice,
    article: Article,
    operator_id: int | None,
    risk_decision_id: int | None,
) -> AgentPayment:
    """Write the payment's row before anything is submitted.

    The same blob sent again returns its existing row while it is still `submitted` (to be
    finished); a paid or failed one, or another blob for a used invoice, is PaymentReplayed.
    """
    try:
        with transaction.atomic():
            return AgentPayment.objects.create(
                scheme=AgentPayment.Scheme.EXACT,
                status=AgentPayment.Status.SUBMITTED,
                publisher_id=article.publisher_id,
                article=article,
                payer=checked.payer,
                operator_id=operator_id,
                amount_drops=checked.amount_drops,
                invoice_id=invoice.invoice_id,
                tx_hash=checked.tx_hash,
                tx_blob=checked.tx_blob,
                last_ledger_sequence=checked.last_ledger_sequence,
                risk_decision_id=risk_decision_id,
            )
    except IntegrityError as exc:
        existing = AgentPayment.objects.filter(tx_hash=checked.tx_hash).first()
        if existing is not None and existing.status == AgentPayment.Status.SUBMITTED:
            return existing
        raise PaymentReplayed() from exc


def _fail(payment: AgentPayment, engine_result: str) -> None:
    AgentPayment.objects.filter(pk=payment.pk, status=AgentPayment.Status.SUBMITTED).update(
        status=AgentPayment.Status.FAILED, engine_result=engine_result[:32]
    )


def _journal_paid(payment: AgentPayment, *, fee_bps: int, payee_ref: str) -> int:
    """Post the payment: XRP arrived on the settlement account, owed to the publisher, less
    the platform fee. Precondition: inside the transaction that marks the row paid."""
    reference = f"agentpay:{payment.pk}"
    fee = payment.amount_drops * fee_bps // 10_000
    journal_post(
        kind="agent_payment",
        reference=reference,
        postings=[
            debit("settlement_account", payment.amount_drops, platform_address()),
            credit("publisher_payable", payment.amount_drops, payee_ref),
        ],
        memo=f"x402 exact {payment.tx_hash} for article {payment.article_id}",
    )
    journal_post(
        kind="fee",
        reference=reference,
        postings=[
            debit("publisher_payable", fee, payee_ref),
            credit("platform_fee_revenue", fee),
        ],
    )
    return fee


def _validated_outcome(tx_hash: str) -> tuple[bool, str, int | None, str | None]:
    """(validated, result, ledger index, delivered drops) of a transaction; not found is
    (False, "", None, None)."""
    try:
        result = ledger.ledger_request("tx", transaction=tx_hash)
    except ledger.LedgerRequestError as exc:
        if exc.error == "txnNotFound":
            return False, "", None, None
        raise
    meta = result.get("meta") or result.get("metaData") or {}
    if not isinstance(meta, dict):
        meta = {}
    delivered = meta.get("delivered_amount", meta.get("DeliveredAmount"))
    return (
        bool(result.get("validated", False)),
        str(meta.get("TransactionResult", "")),
        result.get("ledger_index"),
        delivered if isinstance(delivered, str) else None,
    )


def _wait_validated(payment: AgentPayment) -> tuple[str, int | None, str | None]:
    """Poll until the transaction is in a validated ledger, or certainly never will be.

    Raises PaymentPending past DROPGATE_AGENT_SETTLE_TIMEOUT_SECONDS (the row stays
    `submitted`), PaymentRefused `payment_expired` once LastLedgerSequence is validated
    without it.
    """
    deadline = time.monotonic() + settings.DROPGATE_AGENT_SETTLE_TIMEOUT_SECONDS
    while True:
        validated, result, index, delivered = _validated_outcome(payment.tx_hash)
        if validated:
            return result, index, delivered
        if payment.last_ledger_sequence is not None and not result:
            if ledger.validated_ledger().ledger_index >= payment.last_ledger_sequence:
                # Check once more: it may have made the last ledger.
                validated, result, index, delivered = _validated_outcome(payment.tx_hash)
                if validated:
                    return result, index, delivered
                _fail(payment, "expired")
                raise _refuse("payment_expired", "The Payment expired before it was validated.")
        if time.monotonic() >= deadline:
            raise PaymentPending()
        time.sleep(settings.DROPGATE_AGENT_POLL_SECONDS)


def exact_settle(*, payment: AgentPayment) -> AgentPayment:
    """Submit the reserved blob (unless it is already in a ledger), wait for validation, and
    mark the row paid with its journal entries. Returns the paid row.

    Raises PaymentRefused (`payment_failed` with the engine result, `payment_expired`; the row
    is then `failed`), PaymentPending or LedgerUnavailable (the row stays `submitted`).
    """
    if payment.status == AgentPayment.Status.PAID:
        return payment
    validated, result, index, delivered = _validated_outcome(payment.tx_hash)
    if not validated and not result:
        submitted = ledger.submit_blob(payment.tx_blob)
        if submitted.engine_result not in _MAY_APPLY and not submitted.engine_result.startswith(
            "tec"
        ):
            _fail(payment, submitted.engine_result)
            raise _refuse(
                "payment_failed", f"The ledger refused the Payment ({submitted.engine_result})."
            )
    if not validated:
        result, index, delivered = _wait_validated(payment)
    if result != "tesSUCCESS":
        _fail(payment, result)
        raise _refuse("payment_failed", f"The Payment failed on the ledger ({result}).")
    if delivered is not None and int(delivered) != payment.amount_drops:
        _fail(payment, "delivered_mismatch")
        raise _refuse("payment_underpaid", "The Payment delivered less than it promised.")
    publisher = payment.publisher
    with transaction.atomic():
        moved = AgentPayment.objects.filter(
            pk=payment.pk, status=AgentPayment.Status.SUBMITTED
        ).update(status=AgentPayment.Status.PAID, engine_result=result, ledger_index=index)
        if moved:
            fee = _journal_paid(payment, fee_bps=publisher.fee_bps, payee_ref=publisher.key)
            AgentPayment.objects.filter(pk=payment.pk).update(fee_drops=fee)
    payment.refresh_from_db()
    if payment.status != AgentPayment.Status.PAID:
        raise PaymentReplayed()
    return payment


__all__ = ["LedgerUnavailable", "exact_check", "exact_reserve", "exact_settle", "tx_hash_of"]
