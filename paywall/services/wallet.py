"""The reader's funding wallet, server side: the demo faucet, and transactions the server
prepares and the signer frame signs (docs/sdk-protocol.md, "Funding wallet").

The server never holds a reader's key. It builds each transaction from its own rules
(destination, tag, claim key, settle delay, CancelAfter; fund only the reader's own registered
channel), keeps it for `PREPARED_TTL_SECONDS` under a random id bound to the reader, and on
submit checks the signature with the strict verifier before anything reaches the ledger. The
blob submitted is always the one prepared: the reader sends only a signature, which must
verify over the prepared signing blob. Money is integer drops; it becomes an XRPL string only
in the transaction.

A source close is prepared for any channel the funding key is the source of on the ledger
(and that pays the platform), registered to this reader or not: the ledger itself lets only the
source close it, so the signature is the authorisation. A deposit is therefore never stranded
by the registry — a channel whose registration never happened (the frame lost the answer) or
was taken before registration needed a proof of the claim key can still be closed.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from xrpl.core.addresscodec import decode_classic_address
from xrpl.core.binarycodec import encode, encode_for_signing
from xrpl.core.keypairs import derive_classic_address
from xrpl.models.transactions import (
    PaymentChannelClaim,
    PaymentChannelClaimFlag,
    PaymentChannelCreate,
    PaymentChannelFund,
)
from xrpl.models.transactions.transaction import Transaction

from channels_app import ledger
from channels_app.exceptions import Conflict, DropgateError, LedgerUnavailable
from channels_app.keys.services import platform_address
from channels_app.models import Channel, ChannelStatus
from channels_app.services.channels import channel_sync
from channels_app.services.platform import FaucetDisabled, faucet_fund
from channels_app.signatures import (
    InvalidSignature,
    MalformedInput,
    parse_channel_id,
    parse_hex,
    parse_public_key,
    sha512_half,
    verify_signature,
)
from channels_app.types import ChannelSnapshot, TxStatus
from paywall import selectors
from paywall.models import FaucetGrant, Reader
from paywall.services.exceptions import ChannelNotFound, InvalidInput
from paywall.services.publishers import channel_settle_delay_seconds
from paywall.types import Drops

__all__ = [
    "PREPARED_TTL_SECONDS",
    "TRANSACTION_KINDS",
    "AccountNotFound",
    "FaucetAlreadyUsed",
    "FaucetPayment",
    "NotChannelSource",
    "PreparedNotFound",
    "PreparedTransaction",
    "SignatureInvalid",
    "SubmittedTransaction",
    "TransactionKind",
    "TransactionRejected",
    "TransactionState",
    "wallet_faucet_fund",
    "wallet_transaction_prepare",
    "wallet_transaction_status",
    "wallet_transaction_submit",
]

logger = logging.getLogger(__name__)

TransactionKind = Literal["channel_create", "channel_fund", "channel_close"]
TRANSACTION_KINDS: tuple[TransactionKind, ...] = ("channel_create", "channel_fund", "channel_close")
PREPARED_TTL_SECONDS = 300
PREPARED_ID_KIND = "prp"
MAX_DROPS_IN_TRANSACTION = 10**17  # all the XRP there is
_CACHE_KEY = "dropgate:wallet:prepared:{}"
_TX_HASH_PREFIX = b"TXN\x00"  # rippled's HashPrefix::transactionID
_PAYCHAN_SPACE = b"\x00x"  # rippled's LedgerNameSpace::XRP_PAYMENT_CHANNEL
_POLL_SECONDS = 0.25
# Preliminary results of a transaction that was never applied and never will be as signed.
_NEVER_APPLIED = ("tem", "tef", "tel")


# --- Errors ----------------------------------------------------------------------------------


class FaucetAlreadyUsed(DropgateError):
    code = "faucet_already_used"
    http_status = 409
    default_message = "The faucet has already paid this reader or this address."


class AccountNotFound(DropgateError):
    code = "account_not_found"
    http_status = 422
    default_message = "The funding address does not exist on the ledger yet: fund it first."


class NotChannelSource(DropgateError):
    code = "not_channel_source"
    http_status = 403
    default_message = "The funding key is not the channel's source account."


class PreparedNotFound(DropgateError):
    code = "prepared_not_found"
    http_status = 404
    default_message = "No such prepared transaction: it expired, was submitted, or is not yours."


class SignatureInvalid(DropgateError):
    code = "signature_invalid"
    http_status = 400
    default_message = "The signature does not verify over the signing blob."


class TransactionRejected(DropgateError):
    """The ledger refused the transaction outright (tem/tef/tel): it was not applied."""

    code = "transaction_rejected"
    http_status = 422
    default_message = "The ledger rejected the transaction; prepare it again."

    def __init__(self, engine_result: str) -> None:
        super().__init__(f"The ledger rejected the transaction ({engine_result}).")
        self.details = {"engine_result": engine_result}


# --- Value objects ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FaucetPayment:
    address: str
    funded_drops: Drops
    tx_hash: str


@dataclass(frozen=True)
class PreparedTransaction:
    """A transaction waiting for the reader's signature. `tx_json` already holds
    SigningPubKey; `signing_blob` is the hex the funding key signs (Ed25519: its raw bytes)."""

    prepared_id: str
    reader_id: str
    kind: str
    public_key: str
    address: str
    channel_id: str | None
    tx_json: dict[str, Any]
    signing_blob: str
    expires_in: int


@dataclass(frozen=True)
class SubmittedTransaction:
    """`result` is the final TransactionResult once validated, else the preliminary one."""

    tx_hash: str
    result: str
    validated: bool
    kind: str
    channel_id: str | None
    # A validated close that removed the channel from the ledger (after its Expiration or
    # CancelAfter the deposit's remainder is back with the source at once).
    channel_deleted: bool = False


@dataclass(frozen=True)
class TransactionState:
    """Where a transaction stands on the ledger, for a frame resuming a pending channel.

    `found` False: the ledger has never seen it. Once `validated_ledger_index` has passed the
    transaction's LastLedgerSequence, a transaction not found can never be applied.
    `channel_id`: the PayChannel a validated PaymentChannelCreate made, from its metadata.
    """

    tx_hash: str
    found: bool
    validated: bool
    result: str | None
    ledger_index: int | None
    validated_ledger_index: int
    channel_id: str | None


# --- Helpers ---------------------------------------------------------------------------------


def _funding_key(*, reader: Reader, public_key: str) -> tuple[str, str]:
    """(canonical public key, classic address) of a funding key that is not the claim key."""
    try:
        key = parse_public_key(public_key).hex().upper()
    except MalformedInput as exc:
        raise InvalidInput(
            f"public_key: {exc.reason} (66 hex digits starting ED, 02 or 03).",
            code="invalid_public_key",
        ) from exc
    if key == reader.claim_public_key.upper():
        # Least privilege: the claim key only ever signs claims, never moves funds.
        raise InvalidInput(
            "The funding key must not be the claim key.", code="funding_key_is_claim_key"
        )
    return key, derive_classic_address(key)


def _drops(value: int | None, *, field: str, low: int = 1) -> int:
    if value is None:
        raise InvalidInput(f"{field} is required for this kind.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field} must be whole drops.")
    if not low <= value <= MAX_DROPS_IN_TRANSACTION:
        raise InvalidInput(
            f"{field} must be from {low} to {MAX_DROPS_IN_TRANSACTION} drops.",
            code="amount_below_minimum" if value < low else "invalid_request",
        )
    return value


def _own_channel(*, reader: Reader, channel_id: str | None, address: str) -> ChannelSnapshot:
    """The reader's own registered channel, still on the ledger and sent from `address`.

    Someone else's channel is indistinguishable from an unknown one (ChannelNotFound).
    """
    if not channel_id:
        raise InvalidInput("channel_id is required for this kind.")
    snapshot = selectors.reader_channel_get(reader=reader, channel_id=channel_id)
    if snapshot.status == ChannelStatus.CLOSED:
        raise Conflict("The channel is closed.", code="channel_closed")
    if snapshot.source_address != address:
        raise NotChannelSource()
    return snapshot


def _closable_channel(*, reader: Reader, channel_id: str | None, address: str) -> str:
    """The id of a channel `address` may ask to close with a source PaymentChannelClaim.

    The reader's own registered channel (not closed, sent from `address`: else
    NotChannelSource); otherwise any channel that, on the validated ledger, is sent from
    `address` to the platform. Anything else is ChannelNotFound, as an unknown channel is.
    Raises LedgerUnavailable when the ledger must be read and cannot be.
    """
    if not channel_id:
        raise InvalidInput("channel_id is required for this kind.")
    try:
        parse_channel_id(channel_id)
    except MalformedInput as exc:
        raise ChannelNotFound() from exc
    try:
        return _own_channel(reader=reader, channel_id=channel_id, address=address).channel_id
    except ChannelNotFound:
        pass
    entry = ledger.channel_entry(channel_id)
    if (
        entry is None
        or entry.source_address != address
        or entry.destination_address != platform_address()
    ):
        raise ChannelNotFound()
    return entry.channel_id


def _cancel_after() -> int:
    """CancelAfter for a new channel: DROPGATE_CHANNEL_CANCEL_AFTER_DAYS after the validated
    ledger's close time (ledger time, which the sandbox can move; never the wall clock)."""
    days = int(settings.DROPGATE_CHANNEL_CANCEL_AFTER_DAYS)
    return ledger.validated_ledger().close_time + days * 86_400


def _build(
    *,
    reader: Reader,
    kind: str,
    address: str,
    public_key: str,
    amount_drops: int | None,
    channel_id: str | None,
) -> tuple[Transaction, str | None]:
    """The unsigned transaction for `kind`, from the server's own rules, and its channel id."""
    if kind == "channel_create":
        amount = _drops(amount_drops, field="amount_drops", low=settings.DROPGATE_MIN_CHANNEL_DROPS)
        return (
            PaymentChannelCreate(
                account=address,
                destination=platform_address(),
                destination_tag=reader.publisher.destination_tag,
                amount=str(amount),
                # Registration refuses a SettleDelay under the minimum; never open such a channel.
                settle_delay=channel_settle_delay_seconds(),
                # The deposit can never be locked past this, whatever happens to the service.
                cancel_after=_cancel_after(),
                public_key=reader.claim_public_key.upper(),
                signing_pub_key=public_key,
            ),
            None,
        )
    if kind == "channel_fund":
        amount = _drops(amount_drops, field="amount_drops")
        channel = _own_channel(reader=reader, channel_id=channel_id, address=address)
        if channel.status != ChannelStatus.OPEN:
            raise Conflict("The channel is closing; open a new one.", code="channel_closing")
        return (
            PaymentChannelFund(
                account=address,
                channel=channel.channel_id,
                amount=str(amount),
                signing_pub_key=public_key,
            ),
            channel.channel_id,
        )
    if kind == "channel_close":
        closing = _closable_channel(reader=reader, channel_id=channel_id, address=address)
        # The source's tfClose sets Expiration = now + SettleDelay; the watchtower redeems the
        # highest claim before then (DESIGN.md, "Settlement"). After CancelAfter (or the
        # Expiration) it deletes the channel at once and the remainder goes back to the source.
        return (
            PaymentChannelClaim(
                account=address,
                channel=closing,
                flags=int(PaymentChannelClaimFlag.TF_CLOSE),
                signing_pub_key=public_key,
            ),
            closing,
        )
    raise InvalidInput(f"kind must be one of {', '.join(TRANSACTION_KINDS)}.")


def _cache_key(prepared_id: str) -> str:
    return _CACHE_KEY.format(prepared_id)


def _load(prepared_id: str) -> PreparedTransaction | None:
    if not isinstance(prepared_id, str) or not prepared_id.startswith(f"{PREPARED_ID_KIND}_"):
        return None
    stored = cache.get(_cache_key(prepared_id))
    if not isinstance(stored, dict):
        return None
    try:
        return PreparedTransaction(**stored)
    except TypeError:
        return None


def _transaction_hash(tx_blob: str) -> str:
    return sha512_half(_TX_HASH_PREFIX + bytes.fromhex(tx_blob)).hex().upper()


def _paychan_id(tx_json: dict[str, Any]) -> str:
    """The id a PaymentChannelCreate's channel gets: rippled's keylet::payChan, SHA-512Half of
    the space key 'x', source and destination AccountIDs and the create's Sequence."""
    data = (
        _PAYCHAN_SPACE
        + decode_classic_address(str(tx_json["Account"]))
        + decode_classic_address(str(tx_json["Destination"]))
        + int(tx_json["Sequence"]).to_bytes(4, "big")
    )
    return sha512_half(data).hex().upper()


def _created_channel_id(tx_hash: str) -> str | None:
    """The PayChannel a validated PaymentChannelCreate made, from its metadata."""
    result = ledger.ledger_request("tx", transaction=tx_hash)
    return _created_channel_of(result.get("meta") or result.get("metaData") or {})


def _created_channel_of(meta: Any) -> str | None:
    for affected in meta.get("AffectedNodes", []) if isinstance(meta, dict) else []:
        node = affected.get("CreatedNode") if isinstance(affected, dict) else None
        if node and node.get("LedgerEntryType") == "PayChannel":
            return str(node["LedgerIndex"]).upper()
    return None


def _already_known(tx_hash: str) -> bool:
    """Whether the ledger already has this very transaction: a retry of a submit whose first
    answer was lost is refused (tefPAST_SEQ, tefALREADY) although the first one went in."""
    try:
        return ledger.transaction_status(tx_hash) is not None
    except (LedgerUnavailable, ledger.LedgerRequestError):
        return False


def _await_validation(tx_hash: str, *, wait_seconds: float) -> TxStatus | None:
    """Poll the ledger until the transaction is validated or `wait_seconds` pass.

    Returns the validated status, or None. An outage while waiting is not an error: the
    transaction is already submitted, so the caller reports it as pending.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            status = ledger.transaction_status(tx_hash)
        except (LedgerUnavailable, ledger.LedgerRequestError):
            status = None
        if status is not None and status.validated:
            return status
        if time.monotonic() >= deadline:
            return None
        time.sleep(_POLL_SECONDS)


# --- Services --------------------------------------------------------------------------------


def wallet_faucet_fund(*, reader: Reader, public_key: str) -> FaucetPayment:
    """Pay settings.DROPGATE_FAUCET_DROPS to the address of the reader's funding key.

    Only when settings.DROPGATE_FAUCET_ENABLED (FaucetDisabled); at most once per reader and
    per address (FaucetAlreadyUsed), decided by the FaucetGrant unique constraints before the
    ledger is touched. If the payment fails (LedgerUnavailable, `faucet_failed`) the grant is
    released so the reader may try again. Not atomic as a whole: call with no open transaction.
    """
    if not settings.DROPGATE_FAUCET_ENABLED:
        raise FaucetDisabled()
    _, address = _funding_key(reader=reader, public_key=public_key)
    drops = int(settings.DROPGATE_FAUCET_DROPS)
    try:
        with transaction.atomic():
            grant = FaucetGrant.objects.create(reader=reader, address=address, amount_drops=drops)
    except IntegrityError as exc:
        raise FaucetAlreadyUsed() from exc
    try:
        tx_hash = faucet_fund(address=address, drops=drops)
    except DropgateError:
        FaucetGrant.objects.filter(pk=grant.pk).delete()
        raise
    FaucetGrant.objects.filter(pk=grant.pk).update(tx_hash=tx_hash.upper()[:64])
    logger.info("faucet paid %s drops to %s for %s", drops, address, reader.public_id)
    return FaucetPayment(address=address, funded_drops=Drops(drops), tx_hash=tx_hash.upper())


def wallet_transaction_prepare(
    *,
    reader: Reader,
    public_key: str,
    kind: str,
    amount_drops: int | None = None,
    channel_id: str | None = None,
) -> PreparedTransaction:
    """Build, autofill and keep (PREPARED_TTL_SECONDS) a transaction for the reader to sign.

    - `channel_create`: `amount_drops` (at least DROPGATE_MIN_CHANNEL_DROPS) to the platform
      address, with the publisher's destination tag, the reader's registered claim key,
      DROPGATE_CHANNEL_SETTLE_DELAY_SECONDS and a CancelAfter
      DROPGATE_CHANNEL_CANCEL_AFTER_DAYS after the validated ledger's close time.
    - `channel_fund`: adds `amount_drops` to the reader's own open registered channel.
    - `channel_close`: the source's PaymentChannelClaim with tfClose on the reader's own
      channel, or on any channel the funding key is the source of on the ledger and that pays
      the platform (see the module's docstring).

    The funding key (`public_key`) must not be the claim key, and for fund and close it must
    be the channel's source. Raises InvalidInput, ChannelNotFound, NotChannelSource,
    Conflict (`channel_closing`, `channel_closed`), AccountNotFound, LedgerUnavailable.
    """
    if kind not in TRANSACTION_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(TRANSACTION_KINDS)}.")
    key, address = _funding_key(reader=reader, public_key=public_key)
    unsigned, touched_channel = _build(
        reader=reader,
        kind=kind,
        address=address,
        public_key=key,
        amount_drops=amount_drops,
        channel_id=channel_id,
    )
    if ledger.account_balance(address) is None:
        raise AccountNotFound()
    filled = ledger.transaction_autofill(unsigned)
    # A JSON round trip turns flag enums into plain numbers, as they travel to the frame.
    tx_json: dict[str, Any] = json.loads(json.dumps(filled.to_xrpl()))
    tx_json["SigningPubKey"] = key
    tx_json.pop("TxnSignature", None)
    prepared = PreparedTransaction(
        prepared_id=f"{PREPARED_ID_KIND}_{secrets.token_urlsafe(24)}",
        reader_id=reader.public_id,
        kind=kind,
        public_key=key,
        address=address,
        channel_id=touched_channel,
        tx_json=tx_json,
        signing_blob=encode_for_signing(tx_json).upper(),
        expires_in=PREPARED_TTL_SECONDS,
    )
    cache.set(_cache_key(prepared.prepared_id), asdict(prepared), PREPARED_TTL_SECONDS)
    return prepared


def wallet_transaction_submit(
    *, reader: Reader, prepared_id: str, signature: str, wait_seconds: float | None = None
) -> SubmittedTransaction:
    """Sign the prepared transaction with the reader's `signature`, submit it, and wait up to
    `wait_seconds` (default DROPGATE_WALLET_SUBMIT_WAIT_SECONDS) for it to validate.

    - Unknown, expired, already submitted or another reader's `prepared_id`: PreparedNotFound.
    - A signature that the strict verifier (rippled's rules) refuses: SignatureInvalid, and
      nothing is submitted; the prepared transaction stays available.
    - A prepared transaction is submitted at most once: it is taken out of the cache first.
      If the ledger cannot be reached to submit, it is put back (re-submitting the same
      signed blob is idempotent on the ledger) and LedgerUnavailable is raised.
    - tem/tef/tel preliminary results: TransactionRejected (nothing was applied).
    - Validated in time: the final result (a `tec` result is applied, fee charged). For a
      created channel, `channel_id` is the new PayChannel from the metadata (None after a
      `tec`). After a fund or close, the tracked channel is refreshed from the ledger (a
      close makes it `closing`).
    - Not validated in time: `validated` False with the preliminary result; for a create,
      `channel_id` is the id the channel will have (rippled's keylet), to register later.

    Blocks for up to `wait_seconds`. Call with no open transaction.
    """
    prepared = _load(prepared_id)
    if prepared is None or prepared.reader_id != reader.public_id:
        raise PreparedNotFound()
    try:
        signature_bytes = parse_hex(signature, field="signature")
        verify_signature(
            message=bytes.fromhex(prepared.signing_blob),
            signature=signature_bytes,
            public_key=bytes.fromhex(prepared.public_key),
        )
    except MalformedInput as exc:
        raise SignatureInvalid(f"The signature is malformed: {exc.reason}.") from exc
    except InvalidSignature as exc:
        raise SignatureInvalid(f"The signature is not valid ({exc.reason}).") from exc
    if not cache.delete(_cache_key(prepared.prepared_id)):
        raise PreparedNotFound()  # a concurrent submit took it first
    signed = {**prepared.tx_json, "TxnSignature": signature_bytes.hex().upper()}
    tx_blob = encode(signed)
    tx_hash = _transaction_hash(tx_blob)
    try:
        submitted = ledger.submit_blob(tx_blob)
    except LedgerUnavailable:
        cache.set(_cache_key(prepared.prepared_id), asdict(prepared), PREPARED_TTL_SECONDS)
        raise
    except ledger.LedgerRequestError as exc:
        raise TransactionRejected(exc.error) from exc
    engine_result = submitted.engine_result
    logger.info("wallet %s %s submitted: %s", prepared.kind, tx_hash, engine_result)
    if engine_result.startswith(_NEVER_APPLIED) and not _already_known(tx_hash):
        raise TransactionRejected(engine_result)
    wait = settings.DROPGATE_WALLET_SUBMIT_WAIT_SECONDS if wait_seconds is None else wait_seconds
    status = _await_validation(tx_hash, wait_seconds=float(wait))
    validated, final = status is not None, status.result if status is not None else None
    succeeded = validated and final == "tesSUCCESS"
    followed = _after_success(prepared, tx_hash) if succeeded else None
    channel_id = prepared.channel_id
    if prepared.kind == "channel_create":
        # Pending: the id the channel will have, so the frame can register it once validated.
        # Validated as a failure (tec): there is no channel.
        channel_id = (
            (followed or _paychan_id(prepared.tx_json)) if succeeded or not validated else None
        )
    return SubmittedTransaction(
        tx_hash=tx_hash,
        result=(final or engine_result) if validated else engine_result,
        validated=validated,
        kind=prepared.kind,
        channel_id=channel_id,
        channel_deleted=bool(succeeded and status is not None and status.channel_deleted),
    )


def wallet_transaction_status(*, tx_hash: str) -> TransactionState:
    """Where the transaction `tx_hash` (64 hex digits) stands on the ledger.

    Read-only, and only public ledger facts. The validated ledger index is read first, so a
    transaction "not found" was not in any ledger up to that index. Raises InvalidInput
    (`invalid_tx_hash`) and LedgerUnavailable.
    """
    try:
        parse_hex(tx_hash, field="tx_hash", length=32)
    except MalformedInput as exc:
        raise InvalidInput("tx_hash must be 64 hex digits.", code="invalid_tx_hash") from exc
    tx_hash = tx_hash.upper()
    try:
        validated_index = ledger.validated_ledger().ledger_index
        result = ledger.ledger_request("tx", transaction=tx_hash)
    except ledger.LedgerRequestError as exc:
        if exc.error != "txnNotFound":
            raise LedgerUnavailable() from exc
        return TransactionState(
            tx_hash=tx_hash,
            found=False,
            validated=False,
            result=None,
            ledger_index=None,
            validated_ledger_index=validated_index,
            channel_id=None,
        )
    meta = result.get("meta") or result.get("metaData") or {}
    validated = bool(result.get("validated", False))
    return TransactionState(
        tx_hash=tx_hash,
        found=True,
        validated=validated,
        result=str(meta.get("TransactionResult")) if validated and isinstance(meta, dict) else None,
        ledger_index=int(result["ledger_index"]) if "ledger_index" in result else None,
        validated_ledger_index=validated_index,
        channel_id=_created_channel_of(meta) if validated else None,
    )


def _after_success(prepared: PreparedTransaction, tx_hash: str) -> str | None:
    """Follow-up of a validated tesSUCCESS: the new channel's id, or the refreshed channel's.

    Best effort: the watchtower's scan refreshes channels from the ledger anyway.
    """
    try:
        if prepared.kind == "channel_create":
            return _created_channel_id(tx_hash)
        pk = (
            Channel.objects.filter(channel_id=prepared.channel_id)
            .values_list("pk", flat=True)
            .first()
        )
        if pk is not None:
            channel_sync(channel_pk=pk)
    except (LedgerUnavailable, ledger.LedgerRequestError):
        logger.warning("wallet %s %s: follow-up read failed", prepared.kind, tx_hash)
    return prepared.channel_id
