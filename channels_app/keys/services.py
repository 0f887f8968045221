"""Platform keys: create, sign with, rotate, revoke, publish. Key material never leaves here.

Purposes (KeyRecord.Purpose):

- `settlement`: the settlement account's *master* key. Its address is every channel's
  destination, so it never changes. `settlement_account_harden` gives the account a regular
  key and disables the master key on the ledger; the master's material is then destroyed.
- `settlement_regular`: the settlement account's regular key, which redeems claims
  (`settlement_sign`). Rotated on a schedule and on demand; replaced on a compromise.
- `payout_signer` (slots 0, 1, 2): the vault's 2-of-3 multisign signers
  (`payout_signer_sign`). `payout_vault`: the vault account's master key, used once to set
  the SignerList and disable itself (`payout_vault_harden`).
- `refund`: the refund account's key (`refund_sign`).
- `access_token`: signs readers' access grants, published as a JWKS. A scheduled rotation
  pre-publishes the next key (pending: in the JWKS, signing and verifying nothing) and promotes
  it only after DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS, so publishers' cached JWKS already hold
  it; the old key then verifies for DROPGATE_KEY_OVERLAP_SECONDS. An on-demand rotation and
  the compromise drill switch at once (they skip the wait; a stolen key cannot wait).
- `blind_token`: reserved. `hd_master`: the sealed BIP39 seed. `publisher`: per-publisher keys.
- `dispute_evidence`: signs the evidence bundles of escalated disputes (`evidence_sign`).

Where keys are made (settings.DROPGATE_KEYSTORE):

| purpose                           | software                        | pkcs11                   |
|-----------------------------------|---------------------------------|--------------------------|
| settlement, payout_vault (master) | random Ed25519, sealed          | Ed25519 in the HSM       |
| settlement_regular, payout_signer, refund | HD secp256k1 from the seed | secp256k1 in the HSM     |
| publisher                         | HD secp256k1                    | HD (seed sealed by HSM)  |
| access_token, dispute_evidence    | random Ed25519, sealed          | Ed25519 in the HSM       |

HD paths are `m/44'/144'/account'/0/n`, one hardened account per purpose (`PURPOSE_ACCOUNTS`),
`n` the key's generation (its rotation count) or, for publishers, the publisher's index.

Functions that talk to the ledger must be called with no open transaction. Every signature
on a ledger transaction is recorded (KeySignature); every change of a key is a KeyEvent.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from jwt.algorithms import OKPAlgorithm
from xrpl.constants import CryptoAlgorithm
from xrpl.core import keypairs
from xrpl.core.binarycodec import decode, encode, encode_for_multisigning, encode_for_signing
from xrpl.core.keypairs import derive_classic_address
from xrpl.models.transactions import (
    AccountSet,
    AccountSetAsfFlag,
    SetRegularKey,
    SignerEntry,
    SignerListSet,
)
from xrpl.models.transactions.transaction import Transaction
from xrpl.wallet import Wallet

from channels_app import clock, ledger
from channels_app.exceptions import DropgateError, LedgerUnavailable
from channels_app.keys import hd
from channels_app.keys.crypto import Algorithm, software_sign
from channels_app.keys.exceptions import (
    AccountNotHardened,
    KeyOperationFailed,
    KeyOperationPending,
    KeyPurposeReserved,
    KeyUnavailable,
    LedgerKeyMismatch,
    PayoutsPaused,
    RotationInProgress,
)
from channels_app.keys.keystore import default_keystore, keystore
from channels_app.keys.types import (
    DrillReport,
    EvidenceSignature,
    HardeningOutcome,
    KeyInfo,
    LedgerTx,
    RotationOutcome,
    SettlementKeyStatus,
    SignedItem,
    VaultOutcome,
)
from channels_app.models import KeyEvent, KeyRecord, KeySignature, PayoutsPause

logger = logging.getLogger(__name__)

Purpose = KeyRecord.Purpose
Store = KeyRecord.Store

TOKEN_ISSUER = "dropgate"
PAYOUT_SIGNER_COUNT = 3
PAYOUT_SIGNER_QUORUM = 2
# One hardened BIP44 account per purpose (payout signers: PAYOUT_SIGNER account + slot).
PURPOSE_ACCOUNTS: dict[str, int] = {
    Purpose.SETTLEMENT_REGULAR: 1,
    Purpose.PAYOUT_SIGNER: 2,  # 2, 3, 4
    Purpose.REFUND: 5,
    Purpose.PUBLISHER: 100,
}
# Keys that sign XRPL transactions, and so have a classic address.
_LEDGER_PURPOSES = {
    Purpose.SETTLEMENT,
    Purpose.SETTLEMENT_REGULAR,
    Purpose.PAYOUT_SIGNER,
    Purpose.PAYOUT_VAULT,
    Purpose.REFUND,
    Purpose.PUBLISHER,
}
_NEVER_APPLIED = ("tem", "tef", "tel")
_LSF_DISABLE_MASTER = 0x00100000
_LEGACY_XRPL_SEED = "ed25519-xrpl"  # rows made before the keystores: a sealed family seed


class GrantInvalid(DropgateError):
    code = "grant_invalid"
    http_status = 401
    default_message = "The access grant is not valid."


class GrantExpired(DropgateError):
    code = "grant_expired"
    http_status = 401
    default_message = "The access grant has expired."


# --- Records and events ----------------------------------------------------------------------


def _aad(record: KeyRecord) -> bytes:
    return f"{record.purpose}:{record.key_id}".encode()


def _event(
    *,
    action: str,
    purpose: str,
    actor: str,
    key_id: str = "",
    new_key_id: str = "",
    detail: dict[str, Any] | None = None,
) -> KeyEvent:
    return KeyEvent.objects.create(
        action=action,
        purpose=purpose,
        actor=actor[:64],
        key_id=key_id,
        new_key_id=new_key_id,
        at=clock.now(),
        detail=detail or {},
    )


def key_info(record: KeyRecord) -> KeyInfo:
    return KeyInfo(
        key_id=record.key_id,
        purpose=record.purpose,
        slot=record.slot,
        keystore=record.keystore,
        algorithm=record.algorithm,
        public_key=record.public_key,
        address=record.address,
        state=record.state,
        derivation_path=record.derivation_path,
        created_at=record.created_at,
        activated_at=record.activated_at,
        retired_at=record.retired_at,
        revoked_at=record.revoked_at,
        published_at=record.published_at,
    )


def _hd_seed() -> bytes:
    """The platform's BIP39 seed, unsealed from the `hd_master` row (made on first use)."""
    record = KeyRecord.objects.filter(purpose=Purpose.HD_MASTER, active=True).first()
    if record is None:
        record = KeyRecord(
            purpose=Purpose.HD_MASTER,
            key_id=secrets.token_hex(8),
            keystore=default_keystore().name,
            algorithm="bip39-256",
            public_key="",
        )
        record.sealed = keystore(record.keystore).seal(hd.new_entropy(), aad=_aad(record))
        record.activated_at = clock.now()
        try:
            with transaction.atomic():
                record.save()
                _event(
                    action=KeyEvent.Action.CREATED,
                    purpose=record.purpose,
                    actor="system",
                    key_id=record.key_id,
                    detail={"keystore": record.keystore},
                )
        except IntegrityError:
            record = KeyRecord.objects.get(purpose=Purpose.HD_MASTER, active=True)
    entropy = keystore(record.keystore).unseal(bytes(record.sealed), aad=_aad(record))
    return hd.mnemonic_to_seed(hd.entropy_to_mnemonic(entropy))


def _hd_account(purpose: str, slot: int) -> int:
    base = PURPOSE_ACCOUNTS[purpose]
    return base + slot if purpose == Purpose.PAYOUT_SIGNER else base


def _new_record(*, purpose: str, slot: int, owner_ref: str, active: bool) -> KeyRecord:
    """Make (not save) a key for `purpose` in the keystore the table in the module doc names."""
    if purpose == Purpose.BLIND_TOKEN:
        raise KeyPurposeReserved()
    if purpose == Purpose.HD_MASTER:
        raise ValueError("the HD master seed is made by _hd_seed")
    if purpose not in Purpose.values:
        raise ValueError(f"unknown key purpose {purpose!r}")
    record = KeyRecord(
        purpose=purpose,
        slot=slot,
        owner_ref=owner_ref,
        key_id=secrets.token_hex(8),
        active=active,
        activated_at=clock.now() if active else None,
        # A token key is in the JWKS from the moment it exists (active or pre-published).
        published_at=clock.now() if purpose == Purpose.ACCESS_TOKEN else None,
    )
    store = default_keystore()
    hd_purposes = {Purpose.SETTLEMENT_REGULAR, Purpose.PAYOUT_SIGNER, Purpose.REFUND}
    if purpose == Purpose.PUBLISHER or (store.name == Store.SOFTWARE and purpose in hd_purposes):
        index = (
            slot
            if purpose == Purpose.PUBLISHER
            else KeyRecord.objects.filter(purpose=purpose, slot=slot, keystore=Store.HD).count()
        )
        path = hd.xrpl_path(_hd_account(purpose, slot), index)
        derived = hd.derive(_hd_seed(), path)
        record.keystore, record.derivation_path = Store.HD, path
        record.algorithm, record.public_key = Algorithm.SECP256K1.value, derived.public_key
        record.sealed = b""
    else:
        algorithm = Algorithm.SECP256K1 if purpose in hd_purposes else Algorithm.ED25519
        generated = store.generate(key_id=record.key_id, algorithm=algorithm, aad=_aad(record))
        record.keystore, record.algorithm = store.name, algorithm.value
        record.public_key, record.sealed = generated.public_key, generated.sealed
    if purpose in _LEDGER_PURPOSES:
        record.address = derive_classic_address(record.public_key)
    return record


def _create(
    *, purpose: str, slot: int = 0, owner_ref: str = "", active: bool, actor: str = "system"
) -> KeyRecord:
    record = _new_record(purpose=purpose, slot=slot, owner_ref=owner_ref, active=active)
    try:
        with transaction.atomic():
            record.save()
            _event(
                action=KeyEvent.Action.CREATED,
                purpose=purpose,
                actor=actor,
                key_id=record.key_id,
                detail={"slot": slot, "keystore": record.keystore, "state": record.state},
            )
    except IntegrityError:
        if record.keystore == Store.PKCS11:
            keystore(Store.PKCS11).destroy(key_id=record.key_id)  # the loser's HSM object
        raise
    return record


def key_ensure(*, purpose: str, slot: int = 0, owner_ref: str = "") -> KeyRecord:
    """Return the active key for (`purpose`, `slot`), creating it on first use.

    Raises KeyPurposeReserved for `blind_token`.
    """
    record = KeyRecord.objects.filter(purpose=purpose, slot=slot, active=True).first()
    if record is not None:
        return record
    try:
        return _create(purpose=purpose, slot=slot, owner_ref=owner_ref, active=True)
    except IntegrityError:
        # Another process created it first: use theirs.
        return KeyRecord.objects.get(purpose=purpose, slot=slot, active=True)


def keys_list(*, purpose: str | None = None) -> list[KeyInfo]:
    queryset = KeyRecord.objects.exclude(purpose=Purpose.HD_MASTER).order_by(
        "purpose", "slot", "pk"
    )
    if purpose:
        queryset = queryset.filter(purpose=purpose)
    return [key_info(record) for record in queryset]


# --- Signing ---------------------------------------------------------------------------------


def _sign_message(record: KeyRecord, message: bytes) -> bytes:
    """The XRPL signature of `message` by `record`'s key. Only an active key signs: never a
    pending, retired, revoked or destroyed one."""
    if not record.active or record.revoked_at is not None or record.destroyed_at is not None:
        raise KeyUnavailable()
    if record.keystore == Store.HD:
        derived = hd.derive(_hd_seed(), record.derivation_path)
        if derived.public_key != record.public_key:
            raise KeyUnavailable("The HD seed does not derive this key any more.")
        return software_sign(derived.private_key, Algorithm.SECP256K1, message)
    if record.algorithm == _LEGACY_XRPL_SEED:
        seed = keystore(Store.SOFTWARE).unseal(bytes(record.sealed), aad=_aad(record)).decode()
        wallet = Wallet.from_seed(seed, algorithm=CryptoAlgorithm.ED25519)
        return bytes.fromhex(keypairs.sign(message, wallet.private_key))
    return keystore(record.keystore).sign(
        key_id=record.key_id,
        algorithm=Algorithm(record.algorithm),
        sealed=bytes(record.sealed),
        aad=_aad(record),
        message=message,
    )


def _log_signature(
    record: KeyRecord, tx_json: dict[str, Any], *, tx_hash: str, multi: bool
) -> None:
    KeySignature.objects.create(
        key_id=record.key_id,
        purpose=record.purpose,
        tx_type=str(tx_json.get("TransactionType", "")),
        account=str(tx_json.get("Account", "")),
        sequence=tx_json.get("Sequence"),
        tx_hash=tx_hash,
        multisign=multi,
        signed_at=clock.now(),
    )


def transaction_sign(record: KeyRecord, transaction: Transaction) -> Transaction:
    """Single-sign an autofilled transaction with `record`'s key (any keystore)."""
    tx_json = transaction.to_xrpl()
    tx_json.pop("TxnSignature", None)
    tx_json["SigningPubKey"] = record.public_key
    signature = _sign_message(record, bytes.fromhex(encode_for_signing(tx_json)))
    tx_json["TxnSignature"] = signature.hex().upper()
    signed = Transaction.from_xrpl(tx_json)
    _log_signature(record, tx_json, tx_hash=signed.get_hash(), multi=False)
    return signed


def transaction_multisign(record: KeyRecord, transaction: Transaction) -> Transaction:
    """A copy of `transaction` carrying one Signer: `record`'s key, for its own address.

    Same shape as xrpl-py's `sign(tx, wallet, multisign=True)`; combine the copies with
    `xrpl.transaction.multisign`.
    """
    tx_json = transaction.to_xrpl()
    tx_json.pop("Signers", None)
    tx_json.pop("TxnSignature", None)
    tx_json["SigningPubKey"] = ""
    message = bytes.fromhex(encode_for_multisigning(tx_json, record.address))
    signature = _sign_message(record, message)
    tx_json["Signers"] = [
        {
            "Signer": {
                "Account": record.address,
                "TxnSignature": signature.hex().upper(),
                "SigningPubKey": record.public_key,
            }
        }
    ]
    _log_signature(record, tx_json, tx_hash="", multi=True)
    return Transaction.from_xrpl(tx_json)


def platform_address() -> str:
    """The settlement account's classic address: every channel's destination."""
    return key_ensure(purpose=Purpose.SETTLEMENT).address


def _settlement_signer() -> KeyRecord:
    regular = KeyRecord.objects.filter(purpose=Purpose.SETTLEMENT_REGULAR, active=True).first()
    if regular is not None:
        return regular
    master = key_ensure(purpose=Purpose.SETTLEMENT)
    if master.destroyed_at is not None:
        raise KeyUnavailable("The settlement account has no usable key.")
    return master


def settlement_sign(*, transaction: Transaction) -> Transaction:
    """Sign an autofilled transaction as the settlement account.

    With the regular key once the account is hardened, with the master key before.
    """
    address = platform_address()
    if transaction.account != address:
        raise ValueError("settlement_sign signs only for the settlement account")
    return transaction_sign(_settlement_signer(), transaction)


def refund_address() -> str:
    """The refund account's classic address (fund it before use)."""
    return key_ensure(purpose=Purpose.REFUND).address


def refund_sign(*, transaction: Transaction) -> Transaction:
    """Single-sign an autofilled transaction of the refund account."""
    record = key_ensure(purpose=Purpose.REFUND)
    if transaction.account != record.address:
        raise ValueError("refund_sign signs only for the refund account")
    return transaction_sign(record, transaction)


def payout_signer_addresses() -> list[str]:
    """The three vault signers' classic addresses, by signer index (made on first use)."""
    return [
        key_ensure(purpose=Purpose.PAYOUT_SIGNER, slot=index).address
        for index in range(PAYOUT_SIGNER_COUNT)
    ]


def payout_signer_sign(*, signer_index: int, transaction: Transaction) -> Transaction:
    """One signer's multisignature on an autofilled vault transaction.

    Returns a copy with `Signers` = [this signer], like `sign(tx, wallet, multisign=True)`;
    combine two with `xrpl.transaction.multisign` and submit with `submit_multisigned`.
    The caller autofills the Fee for the number of signers. Raises PayoutsPaused while
    payouts are paused: no payout signature is given out during an incident.
    """
    if not 0 <= signer_index < PAYOUT_SIGNER_COUNT:
        raise ValueError("signer_index must be 0, 1 or 2")
    if payouts_paused():
        raise PayoutsPaused()
    record = key_ensure(purpose=Purpose.PAYOUT_SIGNER, slot=signer_index)
    return transaction_multisign(record, transaction)


def payout_vault_address() -> str:
    """The vault account's classic address (its master key is disabled by payout_vault_harden)."""
    return key_ensure(purpose=Purpose.PAYOUT_VAULT).address


def publisher_key_ensure(*, publisher_ref: str, index: int) -> KeyInfo:
    """The HD key of a publisher at m/44'/144'/100'/0/`index`; `index` is the caller's stable
    number for the publisher (its primary key). Idempotent."""
    record = KeyRecord.objects.filter(purpose=Purpose.PUBLISHER, slot=index, active=True).first()
    if record is None:
        record = key_ensure(purpose=Purpose.PUBLISHER, slot=index, owner_ref=publisher_ref)
    if record.owner_ref != publisher_ref:
        raise ValueError("that index belongs to another publisher")
    return key_info(record)


def publisher_sign(*, publisher_ref: str, index: int, message: bytes) -> str:
    """Sign `message` with the publisher's HD key (secp256k1, XRPL DER over SHA-512Half)."""
    publisher_key_ensure(publisher_ref=publisher_ref, index=index)
    record = KeyRecord.objects.get(purpose=Purpose.PUBLISHER, slot=index, active=True)
    return _sign_message(record, message).hex().upper()


# --- Ledger plumbing for key-management transactions ----------------------------------------


def _account_root(address: str) -> dict[str, Any] | None:
    """The validated AccountRoot (with `signer_lists`), or None if the account does not exist."""
    try:
        result = ledger.ledger_request(
            "account_info", account=address, ledger_index="validated", signer_lists=True
        )
    except ledger.LedgerRequestError as exc:
        if exc.error == "actNotFound":
            return None
        raise
    data: dict[str, Any] = dict(result["account_data"])
    # API v2 puts signer_lists beside account_data, v1 inside it.
    data["signer_lists"] = result.get("signer_lists", data.get("signer_lists", []))
    data["_master_disabled"] = bool(int(data.get("Flags", 0)) & _LSF_DISABLE_MASTER)
    return data


def _submit_and_wait(signed: Transaction) -> LedgerTx:
    """Submit and wait for a validated result. Raises KeyOperationFailed when the ledger
    refused it for good, KeyOperationPending when it had not decided within the wait."""
    tx_hash = signed.get_hash()
    tx_type = signed.transaction_type.value
    result = ledger.submit_blob(encode(signed.to_xrpl()))
    if result.engine_result.startswith(_NEVER_APPLIED):
        raise KeyOperationFailed(f"The ledger refused the {tx_type} ({result.engine_result}).")
    deadline = time.monotonic() + settings.DROPGATE_KEY_LEDGER_WAIT_SECONDS
    while True:
        status = ledger.transaction_status(tx_hash)
        if status is not None and status.validated:
            return LedgerTx(tx_type, tx_hash, status.result or "", int(signed.fee or 0))
        if ledger.validated_ledger().ledger_index > (signed.last_ledger_sequence or 0):
            raise KeyOperationFailed(f"The {tx_type} expired before it was validated.")
        if time.monotonic() >= deadline:
            raise KeyOperationPending()
        time.sleep(0.1)


def _journal_fee(*, account: str, tx: LedgerTx) -> None:
    """A key-management transaction of the settlement account burnt its fee (tes or tec)."""
    from channels_app.services.journal import credit, debit, journal_post

    journal_post(
        kind="network_fee",
        reference=tx.tx_hash,
        postings=[
            debit("network_fees", tx.fee_drops),
            credit("settlement_account", tx.fee_drops, account),
        ],
        memo=f"key management: {tx.tx_type}",
    )


def _settlement_tx(signer: KeyRecord, unsigned: Transaction, *, account: str) -> LedgerTx:
    signed = transaction_sign(signer, ledger.transaction_autofill(unsigned))
    outcome = _submit_and_wait(signed)
    _journal_fee(account=account, tx=outcome)
    if outcome.result != "tesSUCCESS":
        raise KeyOperationFailed(f"The {outcome.tx_type} failed on the ledger ({outcome.result}).")
    return outcome


def _destroy_material(record: KeyRecord, *, actor: str, reason: str) -> None:
    """Erase a key's private material for good (an HD key is only marked: the seed keeps it)."""
    if record.destroyed_at is not None or record.keystore == Store.HD:
        # An HD key cannot be erased (the seed derives it again); its retired or revoked
        # state is what keeps the service from ever signing with it.
        return
    if record.keystore == Store.PKCS11:
        keystore(Store.PKCS11).destroy(key_id=record.key_id)
    record.sealed = b""
    record.destroyed_at = clock.now()
    record.save(update_fields=["sealed", "destroyed_at"])
    _event(
        action=KeyEvent.Action.DESTROYED,
        purpose=record.purpose,
        actor=actor,
        key_id=record.key_id,
        detail={"reason": reason, "keystore": record.keystore},
    )


def _activate(new: KeyRecord, *, previous: KeyRecord | None, revoke: bool, actor: str) -> None:
    """Make `new` the active key in place of `previous` (retired, or revoked)."""
    now = clock.now()
    with transaction.atomic():
        if previous is not None:
            previous.active = False
            previous.retired_at = previous.retired_at or now
            if revoke:
                previous.revoked_at = now
            previous.save(update_fields=["active", "retired_at", "revoked_at"])
        new.active, new.activated_at, new.pending_tx = True, now, {}
        new.save(update_fields=["active", "activated_at", "pending_tx"])
        _event(
            action=KeyEvent.Action.ACTIVATED,
            purpose=new.purpose,
            actor=actor,
            key_id=new.key_id,
            detail={"replaces": previous.key_id if previous else ""},
        )
    if previous is not None:
        _destroy_material(previous, actor=actor, reason="replaced on the ledger")


def _fail_pending(record: KeyRecord, *, actor: str, reason: str) -> None:
    record.retired_at = clock.now()
    record.save(update_fields=["retired_at"])
    _event(
        action=KeyEvent.Action.ROTATION_FAILED,
        purpose=record.purpose,
        actor=actor,
        key_id=record.key_id,
        detail={"reason": reason, **record.pending_tx},
    )
    _destroy_material(record, actor=actor, reason="rotation failed")


# --- Least privilege: the settlement account --------------------------------------------------


def settlement_key_status() -> SettlementKeyStatus:
    """What the ledger authorises for the settlement account, against what we hold."""
    address = platform_address()
    root = _account_root(address)
    ours = KeyRecord.objects.filter(purpose=Purpose.SETTLEMENT_REGULAR, active=True).first()
    if root is None:
        return SettlementKeyStatus(address, None, None, ours.key_id if ours else None, ours is None)
    regular = root.get("RegularKey")
    return SettlementKeyStatus(
        account=address,
        master_disabled=bool(root["_master_disabled"]),
        ledger_regular_key=regular,
        our_regular_key_id=ours.key_id if ours else None,
        in_sync=(regular is None and ours is None)
        or (ours is not None and ours.address == regular),
    )


def settlement_regular_key_sync(*, actor: str = "system") -> SettlementKeyStatus:
    """Resolve a pending regular key against the ledger: adopt it if the ledger has it, drop it
    if its SetRegularKey can no longer apply. Idempotent; call with no open transaction."""
    address = platform_address()
    pending = KeyRecord.objects.filter(
        purpose=Purpose.SETTLEMENT_REGULAR,
        active=False,
        retired_at__isnull=True,
        revoked_at__isnull=True,
    ).first()
    if pending is not None:
        root = _account_root(address)
        if root is not None and root.get("RegularKey") == pending.address:
            previous = KeyRecord.objects.filter(
                purpose=Purpose.SETTLEMENT_REGULAR, active=True
            ).first()
            _activate(pending, previous=previous, revoke=False, actor=actor)
        else:
            tx_hash = str(pending.pending_tx.get("hash", ""))
            last = int(pending.pending_tx.get("last_ledger_sequence", 0))
            status = ledger.transaction_status(tx_hash) if tx_hash else None
            expired = status is None and ledger.validated_ledger().ledger_index > last
            failed = status is not None and status.validated and status.result != "tesSUCCESS"
            if expired or failed or not tx_hash:
                _fail_pending(pending, actor=actor, reason="its SetRegularKey never applied")
    return settlement_key_status()


def settlement_account_harden(*, actor: str = "system") -> HardeningOutcome:
    """Give the settlement account a regular key, disable its master key, destroy the master.

    Steps, each skipped when the ledger already shows it done (so it resumes after a crash):
    SetRegularKey (signed by the master), AccountSet asfDisableMaster (signed by the master),
    then the master's material is erased. From then on `settlement_sign` uses the regular key.
    Preconditions: the account is funded and its opening balance journaled
    (`platform_bootstrap`); no open transaction. Fees are journaled as network fees.
    """
    master = key_ensure(purpose=Purpose.SETTLEMENT)
    address = master.address
    if _account_root(address) is None:
        raise KeyOperationFailed("The settlement account is not on the ledger yet; fund it first.")
    settlement_regular_key_sync(actor=actor)
    root = _account_root(address) or {}
    txs: list[LedgerTx] = []
    regular = KeyRecord.objects.filter(purpose=Purpose.SETTLEMENT_REGULAR, active=True).first()
    if regular is None or root.get("RegularKey") != regular.address:
        if root["_master_disabled"]:
            raise LedgerKeyMismatch(
                "The master key is disabled and the ledger's regular key is not ours."
            )
        try:
            pending = _create(purpose=Purpose.SETTLEMENT_REGULAR, active=False, actor=actor)
        except IntegrityError as exc:
            raise RotationInProgress() from exc
        tx = ledger.transaction_autofill(
            SetRegularKey(account=address, regular_key=pending.address)
        )
        signed = transaction_sign(master, tx)
        pending.pending_tx = {
            "hash": signed.get_hash(),
            "last_ledger_sequence": signed.last_ledger_sequence,
        }
        pending.save(update_fields=["pending_tx"])
        try:
            outcome = _submit_and_wait(signed)
        except KeyOperationFailed as exc:
            _fail_pending(pending, actor=actor, reason=exc.message)
            raise
        _journal_fee(account=address, tx=outcome)
        if outcome.result != "tesSUCCESS":
            _fail_pending(pending, actor=actor, reason=outcome.result)
            raise KeyOperationFailed(f"SetRegularKey failed on the ledger ({outcome.result}).")
        txs.append(outcome)
        _activate(pending, previous=regular, revoke=False, actor=actor)
        regular = pending
    if not root.get("_master_disabled"):
        if master.destroyed_at is not None:
            raise KeyUnavailable("The master key is gone but still enabled on the ledger.")
        txs.append(
            _settlement_tx(
                master,
                AccountSet(account=address, set_flag=AccountSetAsfFlag.ASF_DISABLE_MASTER),
                account=address,
            )
        )
    _destroy_material(master, actor=actor, reason="master key disabled on the ledger")
    if txs:
        _event(
            action=KeyEvent.Action.HARDENED,
            purpose=Purpose.SETTLEMENT,
            actor=actor,
            key_id=master.key_id,
            new_key_id=regular.key_id,
            detail={"account": address, "transactions": [t.tx_hash for t in txs]},
        )
    return HardeningOutcome(
        account=address,
        regular_key_id=regular.key_id,
        regular_key_address=regular.address,
        master_disabled=True,
        master_destroyed=True,
        transactions=tuple(txs),
    )


def payout_vault_harden(*, actor: str = "system") -> VaultOutcome:
    """Put the vault under a 2-of-3 SignerList of the payout signers and disable its master key.

    Precondition: the vault account is funded with its reserve (1 XRP + 0.2 XRP for the
    SignerList) and fees. Idempotent. The vault's fees are not journaled here: the caller that
    funds the vault owns its journal account (see `VaultOutcome.transactions`).
    """
    vault = key_ensure(purpose=Purpose.PAYOUT_VAULT)
    signers = payout_signer_addresses()
    root = _account_root(vault.address)
    if root is None:
        raise KeyOperationFailed("The vault account is not on the ledger yet; fund it first.")
    txs: list[LedgerTx] = []
    lists = root.get("signer_lists") or []
    have = sorted(e["SignerEntry"]["Account"] for e in lists[0]["SignerEntries"]) if lists else []
    quorum = int(lists[0]["SignerQuorum"]) if lists else 0
    if have != sorted(signers) or quorum != PAYOUT_SIGNER_QUORUM:
        if root["_master_disabled"]:
            raise LedgerKeyMismatch(
                "The vault's master key is disabled and its SignerList differs."
            )
        tx = SignerListSet(
            account=vault.address,
            signer_quorum=PAYOUT_SIGNER_QUORUM,
            signer_entries=[SignerEntry(account=a, signer_weight=1) for a in signers],
        )
        signed = transaction_sign(vault, ledger.transaction_autofill(tx))
        outcome = _submit_and_wait(signed)
        if outcome.result != "tesSUCCESS":
            raise KeyOperationFailed(f"SignerListSet failed on the ledger ({outcome.result}).")
        txs.append(outcome)
    if not root["_master_disabled"]:
        tx2 = AccountSet(account=vault.address, set_flag=AccountSetAsfFlag.ASF_DISABLE_MASTER)
        signed = transaction_sign(vault, ledger.transaction_autofill(tx2))
        outcome = _submit_and_wait(signed)
        if outcome.result != "tesSUCCESS":
            raise KeyOperationFailed(f"AccountSet failed on the ledger ({outcome.result}).")
        txs.append(outcome)
    _destroy_material(vault, actor=actor, reason="vault master key disabled on the ledger")
    if txs:
        _event(
            action=KeyEvent.Action.HARDENED,
            purpose=Purpose.PAYOUT_VAULT,
            actor=actor,
            key_id=vault.key_id,
            detail={"account": vault.address, "signers": signers, "quorum": PAYOUT_SIGNER_QUORUM},
        )
    return VaultOutcome(
        account=vault.address,
        signers=tuple(signers),
        quorum=PAYOUT_SIGNER_QUORUM,
        master_disabled=True,
        transactions=tuple(txs),
    )


# --- Vault signer rotation (driven by payouts.services.signer_rotation) ---------------------


def _signer_usable(record: KeyRecord) -> bool:
    return record.active and record.revoked_at is None and record.destroyed_at is None


def payout_signers_usable() -> dict[int, KeyInfo]:
    """The payout signer keys that can sign now (active, neither revoked nor destroyed), by slot."""
    return {
        record.slot: key_info(record)
        for record in KeyRecord.objects.filter(purpose=Purpose.PAYOUT_SIGNER, active=True)
        if _signer_usable(record)
    }


def _payout_signers_pending(slot: int) -> QuerySet[KeyRecord]:
    """The key waiting to replace signer `slot` (at most one: a unique constraint)."""
    return KeyRecord.objects.filter(
        purpose=Purpose.PAYOUT_SIGNER,
        slot=slot,
        active=False,
        retired_at__isnull=True,
        revoked_at__isnull=True,
    )


def _payout_signer_current(slot: int) -> KeyRecord | None:
    return KeyRecord.objects.filter(purpose=Purpose.PAYOUT_SIGNER, slot=slot, active=True).first()


def payout_signer_pending(*, slot: int) -> KeyInfo | None:
    """The key waiting to replace signer `slot` (made by `payout_signer_prepare`), if any."""
    record = _payout_signers_pending(slot).first()
    return key_info(record) if record is not None else None


def payout_signer_pending_tx(*, slot: int) -> dict[str, Any]:
    """The SignerListSet the pending key of `slot` waits for ({} if none was recorded)."""
    record = _payout_signers_pending(slot).first()
    return dict(record.pending_tx) if record is not None else {}


def payout_signer_prepare(*, slot: int, actor: str, reason: str) -> KeyInfo:
    """Make the (pending) key that will replace signer `slot`; it signs nothing until
    `payout_signer_activate`. Raises RotationInProgress if one is already pending."""
    if not 0 <= slot < PAYOUT_SIGNER_COUNT:
        raise ValueError("slot must be 0, 1 or 2")
    try:
        record = _create(purpose=Purpose.PAYOUT_SIGNER, slot=slot, active=False, actor=actor)
    except IntegrityError as exc:
        raise RotationInProgress() from exc
    _event(
        action=KeyEvent.Action.ROTATED,
        purpose=Purpose.PAYOUT_SIGNER,
        actor=actor,
        key_id=record.key_id,
        detail={"step": "new_key_pending", "slot": slot, "reason": reason},
    )
    return key_info(record)


def payout_signer_record_tx(*, slot: int, tx_hash: str, last_ledger_sequence: int) -> None:
    """Remember the SignerListSet the pending key of `slot` waits for (before it is submitted)."""
    _payout_signers_pending(slot).update(
        pending_tx={"hash": tx_hash, "last_ledger_sequence": last_ledger_sequence}
    )


def vault_signer_list_sign(*, signer_index: int, transaction: Transaction) -> Transaction:
    """Signer `signer_index`'s multisignature on a SignerListSet of the vault account.

    Unlike `payout_signer_sign` this works while payouts are paused: replacing a signer is
    part of the response to an incident. It signs nothing but a SignerListSet of the vault.
    """
    if transaction.transaction_type.value != "SignerListSet":
        raise ValueError("vault_signer_list_sign signs only SignerListSet transactions")
    if transaction.account != payout_vault_address():
        raise ValueError("vault_signer_list_sign signs only for the vault account")
    record = KeyRecord.objects.filter(
        purpose=Purpose.PAYOUT_SIGNER, slot=signer_index, active=True
    ).first()
    if record is None or not _signer_usable(record):
        raise KeyUnavailable(f"Payout signer {signer_index + 1} has no usable key.")
    return transaction_multisign(record, transaction)


def payout_signer_activate(*, slot: int, actor: str, reason: str, tx_hash: str) -> KeyInfo:
    """The ledger's SignerList now names the pending key of `slot`: make it active and retire
    the key it replaces (audited). Idempotent once done."""
    pending = _payout_signers_pending(slot).first()
    current = _payout_signer_current(slot)
    if pending is None:
        if current is None:
            raise KeyUnavailable(f"Payout signer {slot + 1} has no key.")
        return key_info(current)
    _activate(pending, previous=current, revoke=False, actor=actor)
    _event(
        action=KeyEvent.Action.ROTATED,
        purpose=Purpose.PAYOUT_SIGNER,
        actor=actor,
        key_id=current.key_id if current else "",
        new_key_id=pending.key_id,
        detail={"step": "old_key_retired", "slot": slot, "reason": reason, "tx": tx_hash},
    )
    return key_info(pending)


def payout_signer_pending_fail(*, slot: int, actor: str, reason: str) -> None:
    """Drop the pending key of `slot`: its SignerListSet never applied (audited)."""
    pending = _payout_signers_pending(slot).first()
    if pending is not None:
        _fail_pending(pending, actor=actor, reason=reason)


def payout_signer_rotation_event(
    *, slot: int, actor: str, step: str, detail: dict[str, Any], failed: bool = False
) -> None:
    """One audited step of a vault signer rotation that is not a key change by itself."""
    current = _payout_signer_current(slot)
    _event(
        action=KeyEvent.Action.ROTATION_FAILED if failed else KeyEvent.Action.ROTATED,
        purpose=Purpose.PAYOUT_SIGNER,
        actor=actor,
        key_id=current.key_id if current else "",
        detail={"step": step, "slot": slot, **detail},
    )


def payout_signers_retire(*, actor: str, reason: str, tx_hash: str) -> list[str]:
    """The vault's SignerList no longer names the server's payout signer keys (its custody
    moved to offline approvers, `tx_hash`): retire every one of them, for good (audited).

    A retired key signs nothing (`vault_signer_list_sign`, `transaction_multisign` refuse
    it); sealed material is destroyed. An HD key stays derivable from the seed, which is
    why the ledger's SignerList, not this flag, is what takes its power away. Returns the
    retired key ids. Idempotent.
    """
    retired: list[str] = []
    now = clock.now()
    for record in KeyRecord.objects.filter(
        purpose=Purpose.PAYOUT_SIGNER, retired_at__isnull=True
    ).order_by("slot", "pk"):
        record.active = False
        record.retired_at = now
        record.save(update_fields=["active", "retired_at"])
        _event(
            action=KeyEvent.Action.ROTATED,
            purpose=Purpose.PAYOUT_SIGNER,
            actor=actor,
            key_id=record.key_id,
            detail={"step": "retired_custody_moved_to_approvers", "reason": reason, "tx": tx_hash},
        )
        _destroy_material(record, actor=actor, reason=reason)
        retired.append(record.key_id)
    return retired


# --- Rotation --------------------------------------------------------------------------------


def _drain_settlements() -> None:
    """Let in-flight settlements (signed by the current key) finish before the key changes.

    Bounded by DROPGATE_KEY_LEDGER_WAIT_SECONDS; one left over afterwards is refused with
    tefBAD_AUTH on resubmission and re-signed by the next settlement run (claims are
    cumulative, so nothing is lost).
    """
    from channels_app.models import IN_FLIGHT, Settlement
    from channels_app.services.settlement import settlement_resolve_all

    deadline = time.monotonic() + settings.DROPGATE_KEY_LEDGER_WAIT_SECONDS
    while Settlement.objects.filter(status__in=IN_FLIGHT).exists():
        settlement_resolve_all()
        if time.monotonic() >= deadline:
            break
        time.sleep(0.2)


def settlement_key_rotate(
    *, actor: str = "system", reason: str = "on demand", revoke: bool = False
) -> RotationOutcome:
    """Replace the settlement account's regular key on the ledger.

    A new key is made (pending), a SetRegularKey signed by the current key is submitted, and
    only once it validates does the new key become active and the old one retired (or revoked)
    with its material destroyed. If the ledger refuses, nothing changes; if it has not decided
    in time, KeyOperationPending is raised and `settlement_regular_key_sync` settles it later.
    Preconditions: the account is hardened; no open transaction.
    """
    address = platform_address()
    settlement_regular_key_sync(actor=actor)
    current = KeyRecord.objects.filter(purpose=Purpose.SETTLEMENT_REGULAR, active=True).first()
    if current is None:
        raise AccountNotHardened()
    root = _account_root(address) or {}
    if root.get("RegularKey") != current.address:
        raise LedgerKeyMismatch(
            "The ledger's regular key for the settlement account is not the one we hold."
        )
    _drain_settlements()
    try:
        new = _create(purpose=Purpose.SETTLEMENT_REGULAR, active=False, actor=actor)
    except IntegrityError as exc:
        raise RotationInProgress() from exc
    signed = transaction_sign(
        current,
        ledger.transaction_autofill(SetRegularKey(account=address, regular_key=new.address)),
    )
    new.pending_tx = {
        "hash": signed.get_hash(),
        "last_ledger_sequence": signed.last_ledger_sequence,
    }
    new.save(update_fields=["pending_tx"])
    try:
        outcome = _submit_and_wait(signed)
    except KeyOperationFailed as exc:
        _fail_pending(new, actor=actor, reason=exc.message)
        raise
    _journal_fee(account=address, tx=outcome)
    if outcome.result != "tesSUCCESS":
        _fail_pending(new, actor=actor, reason=outcome.result)
        raise KeyOperationFailed(f"SetRegularKey failed on the ledger ({outcome.result}).")
    _activate(new, previous=current, revoke=revoke, actor=actor)
    _event(
        action=KeyEvent.Action.REVOKED if revoke else KeyEvent.Action.ROTATED,
        purpose=Purpose.SETTLEMENT_REGULAR,
        actor=actor,
        key_id=current.key_id,
        new_key_id=new.key_id,
        detail={"reason": reason, "account": address, "tx": outcome.tx_hash},
    )
    return RotationOutcome(
        purpose=Purpose.SETTLEMENT_REGULAR,
        old_key_id=current.key_id,
        new_key_id=new.key_id,
        new_public_key=new.public_key,
        new_address=new.address,
        transactions=(outcome,),
    )


def _token_pending() -> QuerySet[KeyRecord]:
    """The pre-published token key (at most one: `key_one_pending_per_purpose_slot`)."""
    return KeyRecord.objects.filter(
        purpose=Purpose.ACCESS_TOKEN,
        active=False,
        retired_at__isnull=True,
        revoked_at__isnull=True,
    )


def _published_for(record: KeyRecord, now: datetime) -> timedelta:
    return now - (record.published_at or record.created_at or now)


def _prepublish_window() -> timedelta:
    return timedelta(seconds=settings.DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS)


def token_key_prepublish(*, actor: str = "system", reason: str = "on demand") -> KeyInfo:
    """Publish the next token-signing key without letting it sign: it is in the JWKS (pending)
    from now on, and `keys_rotate_due` promotes it once it has been published for
    DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS. Idempotent: an existing pending key is returned."""
    existing = _token_pending().first()
    if existing is not None:
        return key_info(existing)
    try:
        with transaction.atomic():
            record = _create(purpose=Purpose.ACCESS_TOKEN, active=False, actor=actor)
            published = record.published_at or clock.now()
            _event(
                action=KeyEvent.Action.PREPUBLISHED,
                purpose=Purpose.ACCESS_TOKEN,
                actor=actor,
                key_id=record.key_id,
                detail={
                    "reason": reason,
                    "signs_from": (published + _prepublish_window()).isoformat(),
                },
            )
    except IntegrityError:
        # Another process pre-published first: theirs is the next key.
        return key_info(_token_pending().get())
    return key_info(record)


def _token_key_switch(*, actor: str, reason: str, scheduled: bool) -> RotationOutcome | None:
    """Retire the active token key into its overlap window and make the next key active: the
    pre-published one if there is one, else (on demand only) a new key.

    `scheduled`: only a pending key published for the full window is promoted; returns None
    when there is none (already promoted by another worker, or not ready yet).
    """
    now = clock.now()
    with transaction.atomic():
        # Both rows locked in one order (by pk), so two rotations serialise here.
        locked = list(
            KeyRecord.objects.select_for_update()
            .filter(Q(active=True) | Q(retired_at__isnull=True, revoked_at__isnull=True))
            .filter(purpose=Purpose.ACCESS_TOKEN)
            .order_by("pk")
        )
        current = next((r for r in locked if r.active), None)
        pending = next((r for r in locked if r.state == "pending"), None)
        published = _published_for(pending, now) if pending is not None else timedelta(0)
        if scheduled and (pending is None or published < _prepublish_window()):
            return None
        if current is not None:
            current.active = False
            current.retired_at = now
            current.verify_until = now + timedelta(seconds=settings.DROPGATE_KEY_OVERLAP_SECONDS)
            current.save(update_fields=["active", "retired_at", "verify_until"])
        if pending is not None:
            pending.active, pending.activated_at = True, now
            pending.save(update_fields=["active", "activated_at"])
            _event(
                action=KeyEvent.Action.ACTIVATED,
                purpose=Purpose.ACCESS_TOKEN,
                actor=actor,
                key_id=pending.key_id,
                detail={
                    "replaces": current.key_id if current else "",
                    "published_seconds": int(published.total_seconds()),
                },
            )
            new = pending
        else:
            new = _create(purpose=Purpose.ACCESS_TOKEN, active=True, actor=actor)
        _event(
            action=KeyEvent.Action.ROTATED,
            purpose=Purpose.ACCESS_TOKEN,
            actor=actor,
            key_id=current.key_id if current else "",
            new_key_id=new.key_id,
            detail={
                "reason": reason,
                "verify_until": current.verify_until.isoformat()
                if current and current.verify_until
                else None,
                "prepublished": pending is not None,
                "published_seconds": int(published.total_seconds()),
                # An on-demand switch does not wait out the pre-publication window.
                "skipped_prepublication": published < _prepublish_window(),
            },
        )
    return RotationOutcome(
        Purpose.ACCESS_TOKEN, current.key_id if current else "", new.key_id, new.public_key, ""
    )


def token_key_rotate(*, actor: str = "system", reason: str = "on demand") -> RotationOutcome:
    """Switch token-signing keys now (the emergency path: no pre-publication wait).

    The pre-published key, if any, becomes active at once (publishers that fetched the JWKS
    since it was published already hold it), else a new key does; either way caches older than
    that miss the new `kid` until they refetch. The old key stays in the JWKS and keeps
    verifying for DROPGATE_KEY_OVERLAP_SECONDS (at least a grant's lifetime), then drops out.
    For a planned rotation use `token_key_prepublish` and let `keys_rotate_due` promote it.
    """
    outcome = _token_key_switch(actor=actor, reason=reason, scheduled=False)
    if outcome is None:  # pragma: no cover - an on-demand switch always switches
        raise KeyUnavailable()
    return outcome


def token_key_revoke(
    *, key_id: str | None = None, actor: str = "system", reason: str = "revoked"
) -> RotationOutcome:
    """Revoke a token-signing key now (the active one by default): it leaves the JWKS, every
    grant it signed is refused, and its material is destroyed. A revoked active key is replaced
    at once by a new key, without pre-publication, and a pre-published key is revoked with it."""
    now = clock.now()
    with transaction.atomic():
        queryset = KeyRecord.objects.select_for_update().filter(purpose=Purpose.ACCESS_TOKEN)
        record = queryset.get(key_id=key_id) if key_id else queryset.filter(active=True).first()
        if record is None:
            raise KeyUnavailable("There is no access-token key to revoke.")
        was_active = record.active
        revoked = [record]
        if was_active:
            # The pre-published key's material sat beside the suspect one (same table and KEK,
            # or the same HSM token): it is not promoted, it is revoked with it.
            revoked += list(
                _token_pending().select_for_update().exclude(pk=record.pk).order_by("pk")
            )
        for each in revoked:
            each.active = False
            each.retired_at = each.retired_at or now
            each.revoked_at = each.revoked_at or now
            each.verify_until = now
            each.save(update_fields=["active", "retired_at", "revoked_at", "verify_until"])
        # Skips pre-publication: a stolen key cannot keep signing while a new one waits.
        new = (
            _create(purpose=Purpose.ACCESS_TOKEN, active=True, actor=actor) if was_active else None
        )
        for each in revoked:
            _event(
                action=KeyEvent.Action.REVOKED,
                purpose=Purpose.ACCESS_TOKEN,
                actor=actor,
                key_id=each.key_id,
                new_key_id=new.key_id if new else "",
                detail={
                    "reason": reason if each is record else f"{reason} (pre-published beside it)",
                    "skipped_prepublication": new is not None,
                },
            )
    for each in revoked:
        _destroy_material(each, actor=actor, reason=reason)
    token_key_cache_clear()
    return RotationOutcome(
        Purpose.ACCESS_TOKEN,
        record.key_id,
        new.key_id if new else "",
        new.public_key if new else "",
        "",
    )


def _older_than(record: KeyRecord | None, days: int) -> bool:
    if record is None or days <= 0:
        return False
    born = record.activated_at or record.created_at
    return born is not None and clock.now() - born >= timedelta(days=days)


def _token_key_rotate_due(*, actor: str) -> RotationOutcome | None:
    """One scheduled step of the token key: promote a pending key published for the full
    window; else pre-publish the next key once the active one is within that window of its
    maximum age (so it is promoted about when that age is reached)."""
    if _token_pending().exists():
        return _token_key_switch(actor=actor, reason="scheduled", scheduled=True)
    token = KeyRecord.objects.filter(purpose=Purpose.ACCESS_TOKEN, active=True).first()
    days = settings.DROPGATE_TOKEN_KEY_MAX_AGE_DAYS
    if token is None or days <= 0:
        return None
    born = token.activated_at or token.created_at
    if born is not None and clock.now() >= born + timedelta(days=days) - _prepublish_window():
        token_key_prepublish(actor=actor, reason="scheduled")
    return None


def keys_rotate_due(*, actor: str = "scheduler") -> list[RotationOutcome]:
    """Rotate every key older than its maximum age (the beat task's body). Idempotent.

    The token key moves in two runs: one pre-publishes its successor, a later one (at least
    DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS on) promotes it; only promotions are returned.
    """
    done: list[RotationOutcome] = []
    token_outcome = _token_key_rotate_due(actor=actor)
    if token_outcome is not None:
        done.append(token_outcome)
    if KeyRecord.objects.filter(purpose=Purpose.SETTLEMENT_REGULAR).exists():
        settlement_regular_key_sync(actor=actor)  # a rotation left pending by an outage
    regular = KeyRecord.objects.filter(purpose=Purpose.SETTLEMENT_REGULAR, active=True).first()
    if _older_than(regular, settings.DROPGATE_SETTLEMENT_KEY_MAX_AGE_DAYS):
        done.append(settlement_key_rotate(actor=actor, reason="scheduled"))
    return done


# --- Payouts pause ---------------------------------------------------------------------------


def payouts_paused() -> bool:
    """True while an administrator or a compromise drill has paused payouts."""
    return PayoutsPause.objects.filter(pk=1, paused=True).exists()


@transaction.atomic
def payouts_pause(*, reason: str, actor: str = "system") -> None:
    """Pause payouts (idempotent; the first reason is kept while paused)."""
    row, _ = PayoutsPause.objects.select_for_update().get_or_create(pk=1)
    if row.paused:
        return
    row.paused, row.reason, row.changed_by, row.changed_at = (
        True,
        reason[:255],
        actor[:64],
        clock.now(),
    )
    row.save()
    _event(
        action=KeyEvent.Action.PAYOUTS_PAUSED,
        purpose="payouts",
        actor=actor,
        detail={"reason": reason},
    )


@transaction.atomic
def payouts_resume(*, actor: str = "system") -> None:
    row, _ = PayoutsPause.objects.select_for_update().get_or_create(pk=1)
    if not row.paused:
        return
    row.paused, row.reason, row.changed_by, row.changed_at = False, "", actor[:64], clock.now()
    row.save()
    _event(action=KeyEvent.Action.PAYOUTS_RESUMED, purpose="payouts", actor=actor)


# --- Compromise drill ------------------------------------------------------------------------


def _signed_by(record: KeyRecord) -> tuple[SignedItem, ...]:
    """Every ledger transaction `record` signed: stored settlements (from their signed blobs,
    so rows from before the signature log count too) and the signature log."""
    from channels_app.models import Settlement

    items: dict[str, SignedItem] = {}
    settlements = Settlement.objects.filter(created_at__gte=record.created_at)
    if record.retired_at is not None:
        settlements = settlements.filter(created_at__lte=record.retired_at + timedelta(minutes=5))
    if record.purpose not in (Purpose.SETTLEMENT, Purpose.SETTLEMENT_REGULAR):
        settlements = settlements.none()
    for settlement in settlements.order_by("pk").iterator():
        try:
            tx_json = decode(settlement.tx_blob)
        except Exception:  # noqa: S112 - a corrupt blob is integrity's business, not this report's
            continue
        if str(tx_json.get("SigningPubKey", "")).upper() != record.public_key.upper():
            continue
        items[settlement.tx_hash] = SignedItem(
            kind="settlement",
            tx_type=str(tx_json.get("TransactionType", "")),
            tx_hash=settlement.tx_hash,
            account=str(tx_json.get("Account", "")),
            sequence=settlement.sequence,
            status=settlement.status,
            balance_drops=settlement.balance_drops,
        )
    for row in KeySignature.objects.filter(key_id=record.key_id).order_by("pk"):
        key = row.tx_hash or f"{row.account}:{row.sequence}"
        if key in items:
            continue
        items[key] = SignedItem(
            kind="multisign" if row.multisign else "ledger_tx",
            tx_type=row.tx_type,
            tx_hash=row.tx_hash,
            account=row.account,
            sequence=row.sequence,
            status="signed",
        )
    return tuple(items.values())


def key_compromise_drill(
    *, purpose: str, key_id: str | None = None, actor: str = "system", reason: str = ""
) -> DrillReport:
    """Treat a key as stolen: pause payouts, revoke it, re-key, and list what it signed.

    `purpose` is "settlement" (the regular key; a new one is set on the ledger with
    SetRegularKey, so the old one is refused with tefBAD_AUTH) or "access_token" (revoked: out
    of the JWKS, its grants refused; a new key signs from now on, without pre-publication, and a
    pre-published key is revoked with the active one). Payouts stay paused until an
    administrator calls `payouts_resume`. Precondition: no open transaction.
    """
    why = reason or "compromise drill"
    if purpose in (Purpose.SETTLEMENT, Purpose.SETTLEMENT_REGULAR):
        family = Purpose.SETTLEMENT_REGULAR
    elif purpose == Purpose.ACCESS_TOKEN:
        family = Purpose.ACCESS_TOKEN
    else:
        raise ValueError("the drill covers the settlement and access_token keys")
    queryset = KeyRecord.objects.filter(purpose=family)
    suspect = (
        queryset.filter(key_id=key_id).first() if key_id else queryset.filter(active=True).first()
    )
    if suspect is None:
        raise KeyUnavailable("No such key to revoke.")
    payouts_pause(reason=f"{why}: {family} key {suspect.key_id}", actor=actor)
    txs: tuple[LedgerTx, ...] = ()
    new_key_id = ""
    rejects: bool | None = None
    if family == Purpose.SETTLEMENT_REGULAR:
        if suspect.active:
            outcome = settlement_key_rotate(actor=actor, reason=why, revoke=True)
            new_key_id, txs = outcome.new_key_id, outcome.transactions
        else:
            with transaction.atomic():
                suspect.revoked_at = suspect.revoked_at or clock.now()
                suspect.retired_at = suspect.retired_at or suspect.revoked_at
                suspect.save(update_fields=["revoked_at", "retired_at"])
                _event(
                    action=KeyEvent.Action.REVOKED,
                    purpose=family,
                    actor=actor,
                    key_id=suspect.key_id,
                    detail={"reason": why},
                )
            _destroy_material(suspect, actor=actor, reason=why)
        root = _account_root(platform_address()) or {}
        rejects = root.get("RegularKey") != suspect.address
    else:
        outcome = token_key_revoke(key_id=suspect.key_id, actor=actor, reason=why)
        new_key_id = outcome.new_key_id
    suspect.refresh_from_db()
    signed = _signed_by(suspect)
    _event(
        action=KeyEvent.Action.DRILL,
        purpose=family,
        actor=actor,
        key_id=suspect.key_id,
        new_key_id=new_key_id,
        detail={"reason": why, "signed": len(signed), "ledger_rejects_old_key": rejects},
    )
    return DrillReport(
        purpose=family,
        revoked_key_id=suspect.key_id,
        new_key_id=new_key_id,
        payouts_paused=payouts_paused(),
        ledger_rejects_old_key=rejects,
        signed=signed,
        grants_issued=None,
        grants_note=(
            "Grants are not counted per key; every grant this key signed is refused from now on."
            if family == Purpose.ACCESS_TOKEN
            else ""
        ),
        active_from=suspect.activated_at or suspect.created_at,
        active_until=suspect.retired_at,
        transactions=txs,
    )


# --- Access tokens ---------------------------------------------------------------------------

# Unsealed software signing keys, per process, by their unique key id: every grant is signed
# with one, and unsealing (AES-GCM) per request is wasted work. Revocation empties it.
_unsealed_token_keys: dict[str, Ed25519PrivateKey] = {}


def _token_private_key(record: KeyRecord) -> Ed25519PrivateKey:
    key = _unsealed_token_keys.get(record.key_id)
    if key is None:
        raw = keystore(Store.SOFTWARE).unseal(bytes(record.sealed), aad=_aad(record))
        key = _unsealed_token_keys[record.key_id] = Ed25519PrivateKey.from_private_bytes(raw)
    return key


def token_key_cache_clear() -> None:
    """Forget every unsealed token key in this process (after a revocation or rotation)."""
    _unsealed_token_keys.clear()


def _token_public_key(record: KeyRecord) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(record.public_key[-64:]))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_issue(*, claims: dict[str, Any], ttl: timedelta | None = None) -> str:
    """Sign an EdDSA JWT. `claims` must not already hold iss/iat; exp is taken from it or ttl."""
    record = key_ensure(purpose=Purpose.ACCESS_TOKEN)
    issued = clock.now()
    payload: dict[str, Any] = {"iss": TOKEN_ISSUER, "iat": int(issued.timestamp()), **claims}
    if ttl is not None:
        payload["exp"] = int((issued + ttl).timestamp())
    if record.keystore == Store.SOFTWARE:
        return jwt.encode(
            payload, _token_private_key(record), algorithm="EdDSA", headers={"kid": record.key_id}
        )
    header = {"alg": "EdDSA", "kid": record.key_id, "typ": "JWT"}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    )
    signature = _sign_message(record, signing_input.encode())
    return f"{signing_input}.{_b64url(signature)}"


def _token_key_usable(record: KeyRecord) -> bool:
    """Active, or retired and still in its overlap window. A pending (pre-published) key is in
    the JWKS but verifies nothing: it has signed nothing, so a grant under its kid is forged."""
    if record.revoked_at is not None:
        return False
    if record.active:
        return True
    if record.retired_at is None:
        return False
    return record.verify_until is not None and clock.now() < record.verify_until


def token_verify(*, token: str, audience: str) -> dict[str, Any]:
    """Verify a grant against the active key or a rotated one still in its overlap window;
    raise GrantInvalid (bad, unknown, revoked or expired-key) or GrantExpired."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise GrantInvalid() from exc
    record = KeyRecord.objects.filter(
        purpose=Purpose.ACCESS_TOKEN, key_id=str(header.get("kid", ""))
    ).first()
    if record is None or header.get("alg") != "EdDSA" or not _token_key_usable(record):
        raise GrantInvalid()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _token_public_key(record),
            algorithms=["EdDSA"],
            audience=audience,
            issuer=TOKEN_ISSUER,
            # Times are checked below against the app clock (which issued them), not the
            # library's wall clock: a moved clock must issue and verify alike.
            options={
                "require": ["exp", "iat", "sub"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
            leeway=0,
        )
    except jwt.PyJWTError as exc:
        raise GrantInvalid() from exc
    expires, issued = claims.get("exp"), claims.get("iat")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (expires, issued)):
        raise GrantInvalid()
    now = clock.now().timestamp()
    if issued > now:  # type: ignore[operator]
        raise GrantInvalid()
    if expires <= now:  # type: ignore[operator]
        raise GrantExpired()
    return claims


def evidence_sign(*, message: bytes) -> EvidenceSignature:
    """Sign `message` with the platform's dispute-evidence key (Ed25519, made on first use).

    For evidence bundles handed to an outside arbitrator: the caller domain-separates the
    message; anyone can check the signature against `public_key` (XRPL form, `ED` + 32 bytes).
    """
    record = key_ensure(purpose=Purpose.DISPUTE_EVIDENCE)
    signature = _sign_message(record, message)
    return EvidenceSignature(
        key_id=record.key_id,
        algorithm=record.algorithm,
        public_key=record.public_key,
        signature=signature.hex().upper(),
    )


def token_jwks() -> dict[str, Any]:
    """The public keys grants may be verified with: the active one, the pre-published next one
    (so caches hold it before it signs), and rotated ones until their overlap ends, in that
    order. Revoked keys are never listed."""
    key_ensure(purpose=Purpose.ACCESS_TOKEN)
    keys = []
    now = clock.now()
    candidates = KeyRecord.objects.filter(
        Q(active=True) | Q(retired_at__isnull=True) | Q(verify_until__gt=now),
        purpose=Purpose.ACCESS_TOKEN,
        revoked_at__isnull=True,
    ).order_by("-pk")
    order = {"active": 0, "pending": 1, "retired": 2}
    for record in sorted(candidates, key=lambda r: order[r.state]):
        jwk = OKPAlgorithm.to_jwk(_token_public_key(record), as_dict=True)
        jwk.update({"kid": record.key_id, "alg": "EdDSA", "use": "sig"})
        keys.append(jwk)
    return {"keys": keys}


__all__ = [
    "PAYOUT_SIGNER_COUNT",
    "PAYOUT_SIGNER_QUORUM",
    "GrantExpired",
    "GrantInvalid",
    "LedgerUnavailable",
    "evidence_sign",
    "key_compromise_drill",
    "key_ensure",
    "keys_list",
    "keys_rotate_due",
    "payout_signer_addresses",
    "payout_signer_sign",
    "payout_vault_address",
    "payout_vault_harden",
    "payouts_pause",
    "payouts_paused",
    "payouts_resume",
    "platform_address",
    "publisher_key_ensure",
    "publisher_sign",
    "refund_address",
    "refund_sign",
    "settlement_account_harden",
    "settlement_key_rotate",
    "settlement_key_status",
    "settlement_regular_key_sync",
    "settlement_sign",
    "token_issue",
    "token_jwks",
    "token_key_cache_clear",
    "token_key_prepublish",
    "token_key_revoke",
    "token_key_rotate",
    "token_verify",
]
