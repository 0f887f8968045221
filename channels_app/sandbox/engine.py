"""Transactors: rippled's checks and state changes for the transactions the sandbox supports.

The flow mirrors rippled's `applyTransaction`:

1. `check_validity` - signatures (rippled's `checkValidity`; a failure is an RPC error,
   `invalidTransaction`, never a result code);
2. preflight - the transaction alone (`tem`, `tel`);
3. preclaim - against the open ledger: sequence, LastLedgerSequence, fee, signing key,
   then per type (`ter`, `tef`, `tel`, `tec`);
4. apply - fee and sequence are taken, then the per-type `do_apply`.

`tes` commits every change. `tec` discards the type's changes but keeps the fee and the
sequence. Anything else changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from xrpl.core.addresscodec import is_valid_classic_address
from xrpl.core.binarycodec import encode_for_multisigning, encode_for_signing
from xrpl.core.keypairs import derive_classic_address

from channels_app.sandbox.codes import is_tec
from channels_app.sandbox.state import (
    Entry,
    Fees,
    account_id,
    keylet_account,
    keylet_paychan,
    keylet_signer_list,
)

# Transaction flags (TxFlags.h).
TF_FULLY_CANONICAL_SIG = 0x80000000
TF_INNER_BATCH_TXN = 0x40000000
TF_UNIVERSAL = TF_FULLY_CANONICAL_SIG | TF_INNER_BATCH_TXN
TF_NO_RIPPLE_DIRECT = 0x00010000
TF_PARTIAL_PAYMENT = 0x00020000
TF_LIMIT_QUALITY = 0x00040000
TF_RENEW = 0x00010000
TF_CLOSE = 0x00020000
TF_REQUIRE_DEST_TAG = 0x00010000
TF_OPTIONAL_DEST_TAG = 0x00020000
TF_REQUIRE_AUTH = 0x00040000
TF_OPTIONAL_AUTH = 0x00080000
TF_DISALLOW_XRP = 0x00100000
TF_ALLOW_XRP = 0x00200000

# AccountRoot flags (LedgerFormats.h).
LSF_PASSWORD_SPENT = 0x00010000
LSF_REQUIRE_DEST_TAG = 0x00020000
LSF_REQUIRE_AUTH = 0x00040000
LSF_DISALLOW_XRP = 0x00080000
LSF_DISABLE_MASTER = 0x00100000
LSF_NO_FREEZE = 0x00200000
LSF_GLOBAL_FREEZE = 0x00400000
LSF_DEFAULT_RIPPLE = 0x00800000
LSF_DEPOSIT_AUTH = 0x01000000
LSF_DISALLOW_INCOMING_NFTOKEN_OFFER = 0x04000000
LSF_DISALLOW_INCOMING_CHECK = 0x08000000
LSF_DISALLOW_INCOMING_PAYCHAN = 0x10000000
LSF_DISALLOW_INCOMING_TRUSTLINE = 0x20000000
LSF_ONE_OWNER_COUNT = 0x00010000  # SignerList

# AccountSet asf values.
ASF_REQUIRE_DEST = 1
ASF_REQUIRE_AUTH = 2
ASF_DISALLOW_XRP = 3
ASF_DISABLE_MASTER = 4
ASF_ACCOUNT_TXN_ID = 5
ASF_NO_FREEZE = 6
ASF_GLOBAL_FREEZE = 7
ASF_DEFAULT_RIPPLE = 8
ASF_DEPOSIT_AUTH = 9
ASF_AUTHORIZED_NFTOKEN_MINTER = 10
ASF_DISALLOW_INCOMING_NFTOKEN_OFFER = 12
ASF_DISALLOW_INCOMING_CHECK = 13
ASF_DISALLOW_INCOMING_PAYCHAN = 14
ASF_DISALLOW_INCOMING_TRUSTLINE = 15
ASF_ALLOW_TRUSTLINE_CLAWBACK = 16

# Flags that are plain switches on the AccountRoot (no behaviour the sandbox must enforce
# beyond what it does enforce: RequireDest, DisableMaster, DisallowIncomingPayChan).
_PLAIN_ASF = {
    ASF_REQUIRE_DEST: LSF_REQUIRE_DEST_TAG,
    ASF_DISALLOW_XRP: LSF_DISALLOW_XRP,
    ASF_DEFAULT_RIPPLE: LSF_DEFAULT_RIPPLE,
    ASF_DISALLOW_INCOMING_NFTOKEN_OFFER: LSF_DISALLOW_INCOMING_NFTOKEN_OFFER,
    ASF_DISALLOW_INCOMING_CHECK: LSF_DISALLOW_INCOMING_CHECK,
    ASF_DISALLOW_INCOMING_PAYCHAN: LSF_DISALLOW_INCOMING_PAYCHAN,
    ASF_DISALLOW_INCOMING_TRUSTLINE: LSF_DISALLOW_INCOMING_TRUSTLINE,
}
_UNSUPPORTED_ASF = {
    ASF_REQUIRE_AUTH: "asfRequireAuth",
    ASF_ACCOUNT_TXN_ID: "asfAccountTxnID",
    ASF_NO_FREEZE: "asfNoFreeze",
    ASF_GLOBAL_FREEZE: "asfGlobalFreeze",
    ASF_DEPOSIT_AUTH: "asfDepositAuth",
    ASF_AUTHORIZED_NFTOKEN_MINTER: "asfAuthorizedNFTokenMinter",
    ASF_ALLOW_TRUSTLINE_CLAWBACK: "asfAllowTrustLineClawback",
}

MAX_MULTI_SIGNERS = 32
UINT64_MAX = 2**64 - 1

Verifier = Callable[[bytes, bytes, bytes], bool]
"""verify(message, signature, public_key) -> bool, with rippled's strict rules."""


def project_verifier(message: bytes, signature: bytes, public_key: bytes) -> bool:
    """Check a signature with the project's strict verifier (rippled's rules)."""
    from channels_app.signatures import InvalidSignature, verify_signature

    try:
        verify_signature(message=message, signature=signature, public_key=public_key)
    except InvalidSignature:
        return False
    except (ValueError, TypeError):
        return False
    return True


class TxFailure(Exception):
    """A transactor's early return with a result token (and an optional sandbox note)."""

    def __init__(self, token: str, note: str = "") -> None:
        super().__init__(token)
        self.token = token
        self.note = note


@dataclass
class Outcome:
    result: str
    applied: bool
    meta: dict[str, Any] | None = None
    changes: dict[str, Entry | None] = field(default_factory=dict)
    note: str = ""


# ---------------------------------------------------------------------------------------
# Field helpers


def is_public_key(value: Any) -> bool:
    """rippled's publicKeyType: 33 bytes, ED (ed25519) or 02/03 (secp256k1)."""
    if not isinstance(value, str) or len(value) != 66:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return value[:2].upper() in {"ED", "02", "03"}


def xrp_drops(value: Any) -> int | None:
    """Drops of an XRP amount field, or None when the amount is not XRP."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


def _u32(tx: Mapping[str, Any], name: str, default: int = 0) -> int:
    value = tx.get(name, default)
    return int(value) if isinstance(value, int) else default


def signer_sort_key(address: str) -> bytes:
    return account_id(address)


# ---------------------------------------------------------------------------------------
# checkValidity: signatures (an RPC-level failure, as in rippled's submit)


def check_validity(tx: Mapping[str, Any], verify: Verifier) -> str | None:
    """rippled's checkValidity: returns a failure reason, or None when the signatures hold."""
    signing_key = tx.get("SigningPubKey", "")
    signers = tx.get("Signers")
    if not isinstance(signing_key, str):
        return "Invalid signature."
    if signing_key == "":
        if not signers:
            return "Empty SigningPubKey."
        if "TxnSignature" in tx:
            return "Cannot both single- and multi-sign."
        return _check_multi_sign(tx, signers, verify)
    if signers:
        return "Cannot both single- and multi-sign."
    signature = tx.get("TxnSignature")
    if not isinstance(signature, str) or not signature:
        return "Invalid signature."
    if not is_public_key(signing_key):
        return "Invalid signature."
    try:
        message = bytes.fromhex(encode_for_signing(dict(tx)))
        ok = verify(message, bytes.fromhex(signature), bytes.fromhex(signing_key))
    except Exception:
        ok = False
    return None if ok else "Invalid signature."


def _check_multi_sign(tx: Mapping[str, Any], signers: Any, verify: Verifier) -> str | None:
    if not isinstance(signers, list) or not 1 <= len(signers) <= MAX_MULTI_SIGNERS:
        return "Invalid Signers array size."
    account = tx.get("Account")
    last: bytes | None = None
    for wrapper in signers:
        signer = wrapper.get("Signer") if isinstance(wrapper, dict) else None
        if not isinstance(signer, dict):
            return "Invalid Signers array."
        address = signer.get("Account")
        if not isinstance(address, str) or not is_valid_classic_address(address):
            return "Invalid Signers array."
        if address == account:
            return "Invalid multisigner."
        key = signer_sort_key(address)
        if last is not None and key <= last:
            return "Unsorted Signers array."
        last = key
        pub = signer.get("SigningPubKey", "")
        sig = signer.get("TxnSignature", "")
        if not is_public_key(pub) or not isinstance(sig, str) or not sig:
            return f"Invalid signature on account {address}."
        try:
            message = bytes.fromhex(encode_for_multisigning(dict(tx), address))
            ok = verify(message, bytes.fromhex(sig), bytes.fromhex(pub))
        except Exception:
            ok = False
        if not ok:
            return f"Invalid signature on account {address}."
    return None


# ---------------------------------------------------------------------------------------
# The view a transaction is applied to


class ApplyView:
    """Copy-on-write overlay over the open ledger's entries."""

    def __init__(self, base: Mapping[str, Entry]) -> None:
        self.base = base
        self.changes: dict[str, Entry | None] = {}
        self.final_deleted: dict[str, Entry] = {}

    def read(self, index: str) -> Entry | None:
        if index in self.changes:
            return self.changes[index]
        return self.base.get(index)

    def peek(self, index: str) -> Entry | None:
        if index in self.changes:
            return self.changes[index]
        entry = self.base.get(index)
        if entry is None:
            return None
        mutable = copy.deepcopy(entry)
        self.changes[index] = mutable
        return mutable

    def insert(self, index: str, entry: Entry) -> None:
        self.changes[index] = entry

    def erase(self, index: str) -> None:
        entry = self.read(index)
        if entry is not None:
            self.final_deleted[index] = entry
        self.changes[index] = None

    def account(self, address: str) -> Entry | None:
        return self.read(keylet_account(address))

    def peek_account(self, address: str) -> Entry | None:
        return self.peek(keylet_account(address))


_UNTHREADED = {"LedgerEntryType", "PreviousTxnID", "PreviousTxnLgrSeq"}


def _strip(entry: Entry) -> Entry:
    return {k: v for k, v in entry.items() if k not in _UNTHREADED}


def _is_default(value: Any) -> bool:
    return value in (0, "0", "", None)


def build_meta(
    view: ApplyView, *, tx_hash: str, ledger_seq: int, result: str, tx_index: int
) -> dict[str, Any]:
    """Thread touched entries to this transaction and describe the changes as rippled does."""
    nodes: list[dict[str, Any]] = []
    for index in sorted(view.changes):
        new = view.changes[index]
        old = view.base.get(index)
        if new is not None and new != old:
            new["PreviousTxnID"] = tx_hash
            new["PreviousTxnLgrSeq"] = ledger_seq
        if old is None and new is None:
            continue
        if old is None:
            assert new is not None
            nodes.append(
                {
                    "CreatedNode": {
                        "LedgerEntryType": new["LedgerEntryType"],
                        "LedgerIndex": index,
                        "NewFields": {k: v for k, v in _strip(new).items() if not _is_default(v)},
                    }
                }
            )
        elif new is None:
            final = view.final_deleted.get(index, old)
            node: dict[str, Any] = {
                "FinalFields": _strip(final),
                "LedgerEntryType": old["LedgerEntryType"],
                "LedgerIndex": index,
            }
            previous = {k: v for k, v in _strip(old).items() if k in final and final[k] != v}
            if previous:
                node["PreviousFields"] = previous
            nodes.append({"DeletedNode": node})
        elif new != old:
            node = {
                "FinalFields": _strip(new),
                "LedgerEntryType": new["LedgerEntryType"],
                "LedgerIndex": index,
                "PreviousFields": {k: v for k, v in _strip(old).items() if new.get(k) != v},
            }
            if "PreviousTxnID" in old:
                node["PreviousTxnID"] = old["PreviousTxnID"]
                node["PreviousTxnLgrSeq"] = old["PreviousTxnLgrSeq"]
            nodes.append({"ModifiedNode": node})
    return {"AffectedNodes": nodes, "TransactionIndex": tx_index, "TransactionResult": result}


# ---------------------------------------------------------------------------------------
# Context handed to transactors


@dataclass
class Context:
    tx: Mapping[str, Any]
    tx_hash: str
    ledger_seq: int
    parent_close_time: int
    fees: Fees
    verify: Verifier
    network_id: int | None = None
    view: ApplyView | None = None
    prior_balance: int = 0
    signed_with_master: bool = False
    delivered: int | None = None

    @property
    def account(self) -> str:
        return str(self.tx["Account"])

    @property
    def fee(self) -> int:
        return int(self.tx["Fee"])

    @property
    def flags(self) -> int:
        return _u32(self.tx, "Flags")

    @property
    def signer_count(self) -> int:
        signers = self.tx.get("Signers")
        return len(signers) if isinstance(signers, list) else 0


def _require_view(ctx: Context) -> ApplyView:
    assert ctx.view is not None
    return ctx.view


def _adjust_owner_count(entry: Entry, delta: int) -> None:
    entry["OwnerCount"] = max(0, int(entry.get("OwnerCount", 0)) + delta)


def _add_balance(entry: Entry, delta: int) -> None:
    entry["Balance"] = str(int(entry["Balance"]) + delta)


# ---------------------------------------------------------------------------------------
# Transactors


class Transactor:
    flags_mask = ~TF_UNIVERSAL & 0xFFFFFFFF

    def preflight(self, ctx: Context) -> None:
        if ctx.flags & self.flags_mask:
            raise TxFailure("temINVALID_FLAG")

    def preclaim(self, ctx: Context, view: ApplyView) -> None:
        """Checks against the ledger before the fee is taken (may raise tec)."""

    def do_apply(self, ctx: Context) -> None:
        raise NotImplementedError


class Payment(Transactor):
    flags_mask = ~(TF_UNIVERSAL | TF_PARTIAL_PAYMENT | TF_LIMIT_QUALITY | TF_NO_RIPPLE_DIRECT) & (
        0xFFFFFFFF
    )

    def preflight(self, ctx: Context) -> None:
        super().preflight(ctx)
        tx = ctx.tx
        amount = tx.get("Amount")
        if not isinstance(amount, str):
            raise TxFailure("temDISABLED", "the sandbox supports XRP payments only")
        drops = xrp_drops(amount)
        if drops is None or drops <= 0:
            raise TxFailure("temBAD_AMOUNT")
        if "Destination" not in tx:
            raise TxFailure("temDST_NEEDED")
        if "SendMax" in tx:
            raise TxFailure("temBAD_SEND_XRP_MAX")
        if tx.get("Paths"):
            raise TxFailure("temBAD_SEND_XRP_PATHS")
        if ctx.flags & TF_PARTIAL_PAYMENT:
            raise TxFailure("temBAD_SEND_XRP_PARTIAL")
        if ctx.flags & TF_LIMIT_QUALITY:
            raise TxFailure("temBAD_SEND_XRP_LIMIT")
        if ctx.flags & TF_NO_RIPPLE_DIRECT:
            raise TxFailure("temBAD_SEND_XRP_NO_DIRECT")
        if "DeliverMin" in tx:
            raise TxFailure("temBAD_AMOUNT")
        if tx["Destination"] == ctx.account:
            raise TxFailure("temREDUNDANT")

    def preclaim(self, ctx: Context, view: ApplyView) -> None:
        amount = int(ctx.tx["Amount"])
        destination = view.account(ctx.tx["Destination"])
        if destination is None:
            if amount < ctx.fees.account_reserve(0):
                raise TxFailure("tecNO_DST_INSUF_XRP")
        elif int(destination["Flags"]) & LSF_REQUIRE_DEST_TAG and "DestinationTag" not in ctx.tx:
            raise TxFailure("tecDST_TAG_NEEDED")

    def do_apply(self, ctx: Context) -> None:
        view = _require_view(ctx)
        amount = int(ctx.tx["Amount"])
        source = view.peek_account(ctx.account)
        assert source is not None
        reserve = ctx.fees.account_reserve(int(source["OwnerCount"]))
        # rippled: the prior (pre-fee) balance must cover the amount plus max(reserve, fee).
        if ctx.prior_balance < amount + max(reserve, ctx.fee):
            raise TxFailure("tecUNFUNDED_PAYMENT")
        dst_address = ctx.tx["Destination"]
        destination = view.peek_account(dst_address)
        if destination is None:
            destination = {
                "Account": dst_address,
                "Balance": "0",
                "Flags": 0,
                "LedgerEntryType": "AccountRoot",
                "OwnerCount": 0,
                "Sequence": ctx.ledger_seq,
            }
            view.insert(keylet_account(dst_address), destination)
        _add_balance(source, -amount)
        _add_balance(destination, amount)
        ctx.delivered = amount


class AccountSet(Transactor):
    flags_mask = (
        ~(
            TF_UNIVERSAL
            | TF_REQUIRE_DEST_TAG
            | TF_OPTIONAL_DEST_TAG
            | TF_REQUIRE_AUTH
            | TF_OPTIONAL_AUTH
            | TF_DISALLOW_XRP
            | TF_ALLOW_XRP
        )
        & 0xFFFFFFFF
    )
    unsupported_fields = ("TransferRate", "TickSize", "NFTokenMinter", "WalletLocator")

    def preflight(self, ctx: Context) -> None:
        super().preflight(ctx)
        tx = ctx.tx
        set_flag = _u32(tx, "SetFlag")
        clear_flag = _u32(tx, "ClearFlag")
        if set_flag and set_flag == clear_flag:
            raise TxFailure("temINVALID_FLAG")
        flags = ctx.flags
        set_dest = bool(flags & TF_REQUIRE_DEST_TAG) or set_flag == ASF_REQUIRE_DEST
        clear_dest = bool(flags & TF_OPTIONAL_DEST_TAG) or clear_flag == ASF_REQUIRE_DEST
        if set_dest and clear_dest:
            raise TxFailure("temINVALID_FLAG")
        set_xrp = bool(flags & TF_DISALLOW_XRP) or set_flag == ASF_DISALLOW_XRP
        clear_xrp = bool(flags & TF_ALLOW_XRP) or clear_flag == ASF_DISALLOW_XRP
        if set_xrp and clear_xrp:
            raise TxFailure("temINVALID_FLAG")
        if flags & (TF_REQUIRE_AUTH | TF_OPTIONAL_AUTH):
            raise TxFailure("temDISABLED", "the sandbox does not support RequireAuth")
        for value in (set_flag, clear_flag):
            if value in _UNSUPPORTED_ASF:
                raise TxFailure(
                    "temDISABLED", f"the sandbox does not support {_UNSUPPORTED_ASF[value]}"
                )
        for name in self.unsupported_fields:
            if name in tx:
                raise TxFailure("temDISABLED", f"the sandbox does not support {name}")

    def do_apply(self, ctx: Context) -> None:
        view = _require_view(ctx)
        tx = ctx.tx
        account = view.peek_account(ctx.account)
        assert account is not None
        flags_in = int(account["Flags"])
        flags_out = flags_in
        set_flag = _u32(tx, "SetFlag")
        clear_flag = _u32(tx, "ClearFlag")
        tx_flags = ctx.flags

        if set_flag == ASF_DISABLE_MASTER and not flags_in & LSF_DISABLE_MASTER:
            if not ctx.signed_with_master:
                raise TxFailure("tecNEED_MASTER_KEY")
            has_list = view.read(keylet_signer_list(ctx.account)) is not None
            if "RegularKey" not in account and not has_list:
                raise TxFailure("tecNO_ALTERNATIVE_KEY")
            flags_out |= LSF_DISABLE_MASTER
        if clear_flag == ASF_DISABLE_MASTER:
            flags_out &= ~LSF_DISABLE_MASTER

        if tx_flags & TF_REQUIRE_DEST_TAG:
            flags_out |= LSF_REQUIRE_DEST_TAG
        if tx_flags & TF_OPTIONAL_DEST_TAG:
            flags_out &= ~LSF_REQUIRE_DEST_TAG
        if tx_flags & TF_DISALLOW_XRP:
            flags_out |= LSF_DISALLOW_XRP
        if tx_flags & TF_ALLOW_XRP:
            flags_out &= ~LSF_DISALLOW_XRP
        if set_flag in _PLAIN_ASF:
            flags_out |= _PLAIN_ASF[set_flag]
        if clear_flag in _PLAIN_ASF:
            flags_out &= ~_PLAIN_ASF[clear_flag]

        for name in ("Domain", "EmailHash", "MessageKey"):
            if name in tx:
                value = tx[name]
                if _is_default(value) or (isinstance(value, str) and set(value) <= {"0"}):
                    account.pop(name, None)
                else:
                    account[name] = value
        account["Flags"] = flags_out


class SetRegularKey(Transactor):
    def preflight(self, ctx: Context) -> None:
        super().preflight(ctx)
        if ctx.tx.get("RegularKey") == ctx.account:
            raise TxFailure("temBAD_REGKEY")

    def do_apply(self, ctx: Context) -> None:
        view = _require_view(ctx)
        account = view.peek_account(ctx.account)
        assert account is not None
        regular_key = ctx.tx.get("RegularKey")
        if regular_key:
            account["RegularKey"] = regular_key
            return
        has_list = view.read(keylet_signer_list(ctx.account)) is not None
        if int(account["Flags"]) & LSF_DISABLE_MASTER and not has_list:
            raise TxFailure("tecNO_ALTERNATIVE_KEY")
        account.pop("RegularKey", None)


class SignerListSet(Transactor):
    def preflight(self, ctx: Context) -> None:
        super().preflight(ctx)
        tx = ctx.tx
        quorum = tx.get("SignerQuorum")
        entries = tx.get("SignerEntries")
        if not isinstance(quorum, int):
            raise TxFailure("temMALFORMED")
        if quorum == 0 and not entries:
            return  # destroy
        if quorum == 0 or not isinstance(entries, list):
            raise TxFailure("temMALFORMED")
        if not 1 <= len(entries) <= MAX_MULTI_SIGNERS:
            raise TxFailure("temMALFORMED")
        seen: set[str] = set()
        total = 0
        for wrapper in entries:
            entry = wrapper.get("SignerEntry") if isinstance(wrapper, dict) else None
            if not isinstance(entry, dict) or "Account" not in entry:
                raise TxFailure("temMALFORMED")
            weight = entry.get("SignerWeight", 0)
            if not isinstance(weight, int) or weight <= 0:
                raise TxFailure("temBAD_WEIGHT")
            address = entry["Account"]
            if address == ctx.account or address in seen:
                raise TxFailure("temBAD_SIGNER")
            seen.add(address)
            total += weight
        if total < quorum:
            raise TxFailure("temBAD_QUORUM")

    def do_apply(self, ctx: Context) -> None:
        view = _require_view(ctx)
        account = view.peek_account(ctx.account)
        assert account is not None
        index = keylet_signer_list(ctx.account)
        existing = view.read(index)
        quorum = int(ctx.tx["SignerQuorum"])
        if quorum == 0:
            if int(account["Flags"]) & LSF_DISABLE_MASTER and "RegularKey" not in account:
                raise TxFailure("tecNO_ALTERNATIVE_KEY")
            if existing is not None:
                view.erase(index)
                _adjust_owner_count(account, -1)
            return
        if existing is not None:
            view.erase(index)
            _adjust_owner_count(account, -1)
        if ctx.prior_balance < ctx.fees.account_reserve(int(account["OwnerCount"]) + 1):
            raise TxFailure("tecINSUFFICIENT_RESERVE")
        entries = sorted(
            (copy.deepcopy(w) for w in ctx.tx["SignerEntries"]),
            key=lambda w: signer_sort_key(w["SignerEntry"]["Account"]),
        )
        view.insert(
            index,
            {
                "Flags": LSF_ONE_OWNER_COUNT,
                "LedgerEntryType": "SignerList",
                "OwnerNode": "0",
                "SignerEntries": entries,
                "SignerListID": 0,
                "SignerQuorum": quorum,
            },
        )
        _adjust_owner_count(account, 1)


def _close_channel(view: ApplyView, index: str, channel: Entry) -> None:
    """Return Amount - Balance to the source, drop its owner count, delete the channel."""
    source = view.peek_account(channel["Account"])
    if source is None:
        raise TxFailure("tefINTERNAL")
    _add_balance(source, int(channel["Amount"]) - int(channel["Balance"]))
    _adjust_owner_count(source, -1)
    view.erase(index)


def _channel_index(ctx: Context) -> str:
    channel = ctx.tx.get("Channel")
    if not isinstance(channel, str) or len(channel) != 64:
        raise TxFailure("temMALFORMED")
    return channel.upper()


def _channel_expired(channel: Entry, parent_close_time: int) -> bool:
    cancel_after = channel.get("CancelAfter")
    expiration = channel.get("Expiration")
    return (cancel_after is not None and parent_close_time >= cancel_after) or (
        expiration is not None and parent_close_time >= expiration
    )


class PaymentChannelCreate(Transactor):
    def preflight(self, ctx: Context) -> None:
        super().preflight(ctx)
        drops = xrp_drops(ctx.tx.get("Amount"))
        if drops is None or drops <= 0:
            raise TxFailure("temBAD_AMOUNT")
        if ctx.tx.get("Destination") == ctx.account:
            raise TxFailure("temDST_IS_SRC")
        if not is_public_key(ctx.tx.get("PublicKey")):
            raise TxFailure("temMALFORMED")

    def preclaim(self, ctx: Context, view: ApplyView) -> None:
        source = view.account(ctx.account)
        assert source is not None
        balance = int(source["Balance"])
        reserve = ctx.fees.account_reserve(int(source["OwnerCount"]) + 1)
        if balance < reserve:
            raise TxFailure("tecINSUFFICIENT_RESERVE")
        if balance < reserve + int(ctx.tx["Amount"]):
            raise TxFailure("tecUNFUNDED")
        destination = view.account(ctx.tx["Destination"])
        if destination is None:
            raise TxFailure("tecNO_DST")
        dst_flags = int(destination["Flags"])
        if dst_flags & LSF_DISALLOW_INCOMING_PAYCHAN:
            raise TxFailure("tecNO_PERMISSION")
        if dst_flags & LSF_REQUIRE_DEST_TAG and "DestinationTag" not in ctx.tx:
            raise TxFailure("tecDST_TAG_NEEDED")

    def do_apply(self, ctx: Context) -> None:
        view = _require_view(ctx)
        tx = ctx.tx
        cancel_after = tx.get("CancelAfter")
        if cancel_after is not None and ctx.parent_close_time > cancel_after:
            raise TxFailure("tecEXPIRED")
        source = view.peek_account(ctx.account)
        assert source is not None
        sequence = int(tx.get("TicketSequence") or tx["Sequence"])
        index = keylet_paychan(ctx.account, tx["Destination"], sequence)
        channel: Entry = {
            "Account": ctx.account,
            "Amount": tx["Amount"],
            "Balance": "0",
            "Destination": tx["Destination"],
            "DestinationNode": "0",
            "Flags": 0,
            "LedgerEntryType": "PayChannel",
            "OwnerNode": "0",
            "PublicKey": tx["PublicKey"],
            "SettleDelay": tx["SettleDelay"],
        }
        for name in ("CancelAfter", "SourceTag", "DestinationTag"):
            if name in tx:
                channel[name] = tx[name]
        view.insert(index, channel)
        _add_balance(source, -int(tx["Amount"]))
        _adjust_owner_count(source, 1)


class PaymentChannelFund(Transactor):
    def preflight(self, ctx: Context) -> None:
        super().preflight(ctx)
        drops = xrp_drops(ctx.tx.get("Amount"))
        if drops is None or drops <= 0:
            raise TxFailure("temBAD_AMOUNT")
        _channel_index(ctx)

    def do_apply(self, ctx: Context) -> None:
        view = _require_view(ctx)
        index = _channel_index(ctx)
        channel = view.peek(index)
        if channel is None or channel.get("LedgerEntryType") != "PayChannel":
            raise TxFailure("tecNO_ENTRY")
        if _channel_expired(channel, ctx.parent_close_time):
            _close_channel(view, index, channel)
            return
        if channel["Account"] != ctx.account:
            raise TxFailure("tecNO_PERMISSION")
        extend = ctx.tx.get("Expiration")
        if extend is not None:
            minimum = ctx.parent_close_time + int(channel["SettleDelay"])
            current = channel.get("Expiration")
            if current is not None and current < minimum:
                minimum = current
            if extend < minimum:
                raise TxFailure("temBAD_EXPIRATION")
            channel["Expiration"] = extend
        source = view.peek_account(ctx.account)
        assert source is not None
        balance = int(source["Balance"])
        reserve = ctx.fees.account_reserve(int(source["OwnerCount"]))
        amount = int(ctx.tx["Amount"])
        if balance < reserve:
            raise TxFailure("tecINSUFFICIENT_RESERVE")
        if balance < reserve + amount:
            raise TxFailure("tecUNFUNDED")
        if view.account(channel["Destination"]) is None:
            raise TxFailure("tecNO_DST")
        channel["Amount"] = str(int(channel["Amount"]) + amount)
        _add_balance(source, -amount)


def claim_message(channel_id: str, drops: int) -> bytes:
    """The 44 signed bytes of a claim: CLM\\0, the channel id, the amount (uint64 BE)."""
    return b"CLM\x00" + bytes.fromhex(channel_id) + drops.to_bytes(8, "big")


class PaymentChannelClaim(Transactor):
    flags_mask = ~(TF_UNIVERSAL | TF_RENEW | TF_CLOSE) & 0xFFFFFFFF

    def preflight(self, ctx: Context) -> None:
        super().preflight(ctx)
        tx = ctx.tx
        balance: int | None = None
        amount: int | None = None
        if "Balance" in tx:
            balance = xrp_drops(tx["Balance"])
            if balance is None or balance <= 0:
                raise TxFailure("temBAD_AMOUNT")
        if "Amount" in tx:
            amount = xrp_drops(tx["Amount"])
            if amount is None or amount <= 0:
                raise TxFailure("temBAD_AMOUNT")
        if balance is not None and amount is not None and balance > amount:
            raise TxFailure("temBAD_AMOUNT")
        if ctx.flags & TF_CLOSE and ctx.flags & TF_RENEW:
            raise TxFailure("temMALFORMED")
        index = _channel_index(ctx)
        signature = tx.get("Signature")
        if signature is not None:
            if "PublicKey" not in tx or balance is None:
                raise TxFailure("temMALFORMED")
            authorized = amount if amount is not None else balance
            if not is_public_key(tx["PublicKey"]):
                raise TxFailure("temMALFORMED")
            if authorized > UINT64_MAX:
                raise TxFailure("temBAD_AMOUNT")
            try:
                sig_bytes = bytes.fromhex(signature)
            except ValueError:
                raise TxFailure("temBAD_SIGNATURE") from None
            ok = ctx.verify(
                claim_message(index, authorized), sig_bytes, bytes.fromhex(tx["PublicKey"])
            )
            if not ok:
                raise TxFailure("temBAD_SIGNATURE")

    def do_apply(self, ctx: Context) -> None:
        view = _require_view(ctx)
        tx = ctx.tx
        index = _channel_index(ctx)
        channel = view.peek(index)
        if channel is None or channel.get("LedgerEntryType") != "PayChannel":
            raise TxFailure("tecNO_TARGET")
        source, destination = channel["Account"], channel["Destination"]
        if _channel_expired(channel, ctx.parent_close_time):
            _close_channel(view, index, channel)
            return
        if ctx.account not in (source, destination):
            raise TxFailure("tecNO_PERMISSION")
        if "Balance" in tx:
            channel_balance = int(channel["Balance"])
            channel_funds = int(channel["Amount"])
            requested = int(tx["Balance"])
            if ctx.account == destination and "Signature" not in tx:
                raise TxFailure("temBAD_SIGNATURE")
            if "Signature" in tx and str(tx["PublicKey"]).upper() != channel["PublicKey"].upper():
                raise TxFailure("temBAD_SIGNER")
            if requested > channel_funds:
                raise TxFailure("tecUNFUNDED_PAYMENT")
            if requested <= channel_balance:
                raise TxFailure("tecUNFUNDED_PAYMENT")
            dst_account = view.peek_account(destination)
            if dst_account is None:
                raise TxFailure("tecNO_DST")
            channel["Balance"] = str(requested)
            _add_balance(dst_account, requested - channel_balance)
        if ctx.flags & TF_RENEW:
            if ctx.account != source:
                raise TxFailure("tecNO_PERMISSION")
            channel.pop("Expiration", None)
        if ctx.flags & TF_CLOSE:
            if ctx.account == destination or channel["Balance"] == channel["Amount"]:
                _close_channel(view, index, channel)
                return
            settle = ctx.parent_close_time + int(channel["SettleDelay"])
            current = channel.get("Expiration")
            if current is None or current > settle:
                channel["Expiration"] = settle


TRANSACTORS: dict[str, Transactor] = {
    "Payment": Payment(),
    "AccountSet": AccountSet(),
    "SetRegularKey": SetRegularKey(),
    "SignerListSet": SignerListSet(),
    "PaymentChannelCreate": PaymentChannelCreate(),
    "PaymentChannelFund": PaymentChannelFund(),
    "PaymentChannelClaim": PaymentChannelClaim(),
}


# ---------------------------------------------------------------------------------------
# Common checks (Transactor::preflight1 / checkSeqProxy / checkFee / checkSign)


def _preflight_common(ctx: Context) -> Transactor:
    tx = ctx.tx
    tx_type = tx.get("TransactionType")
    transactor = TRANSACTORS.get(str(tx_type))
    if transactor is None:
        raise TxFailure("temDISABLED", f"the sandbox does not support {tx_type} transactions")
    # rippled's rule: networks up to 1024 predate the field, so it must be absent there;
    # above 1024 it is required and must name this network (no cross-network replay).
    if ctx.network_id is None or ctx.network_id <= 1024:
        if "NetworkID" in tx:
            raise TxFailure("telNETWORK_ID_MAKES_TX_NON_CANONICAL")
    elif "NetworkID" not in tx:
        raise TxFailure("telREQUIRES_NETWORK_ID")
    elif _u32(tx, "NetworkID") != ctx.network_id:
        raise TxFailure("telWRONG_NETWORK")
    if not is_valid_classic_address(str(tx.get("Account", ""))):
        raise TxFailure("temBAD_SRC_ACCOUNT")
    fee = xrp_drops(tx.get("Fee"))
    if fee is None or fee < 0:
        raise TxFailure("temBAD_FEE")
    if "TicketSequence" in tx:
        if _u32(tx, "Sequence") != 0:
            raise TxFailure("temSEQ_AND_TICKET")
        raise TxFailure("temDISABLED", "the sandbox does not support tickets")
    if not isinstance(tx.get("Sequence"), int):
        raise TxFailure("temBAD_SEQUENCE")
    transactor.preflight(ctx)
    return transactor


def _check_sign(ctx: Context, view: ApplyView, account: Entry) -> None:
    tx = ctx.tx
    signing_key = str(tx.get("SigningPubKey", ""))
    if signing_key == "":
        _check_multi_sign_authority(ctx, view)
        return
    signer = derive_classic_address(signing_key.upper())
    master_disabled = bool(int(account["Flags"]) & LSF_DISABLE_MASTER)
    if account.get("RegularKey") == signer:
        return
    if signer == ctx.account:
        if master_disabled:
            raise TxFailure("tefMASTER_DISABLED")
        ctx.signed_with_master = True
        return
    raise TxFailure("tefBAD_AUTH")


def _check_multi_sign_authority(ctx: Context, view: ApplyView) -> None:
    signer_list = view.read(keylet_signer_list(ctx.account))
    if signer_list is None:
        raise TxFailure("tefNOT_MULTI_SIGNING")
    weights = {
        w["SignerEntry"]["Account"]: int(w["SignerEntry"]["SignerWeight"])
        for w in signer_list["SignerEntries"]
    }
    total = 0
    for wrapper in ctx.tx["Signers"]:
        signer = wrapper["Signer"]
        address = signer["Account"]
        if address not in weights:
            raise TxFailure("tefBAD_SIGNATURE")
        key_account = derive_classic_address(str(signer["SigningPubKey"]).upper())
        signer_root = view.account(address)
        if key_account == address:
            # A phantom signer (no account) may sign with its master key.
            if signer_root is not None and int(signer_root["Flags"]) & LSF_DISABLE_MASTER:
                raise TxFailure("tefMASTER_DISABLED")
        elif signer_root is None or signer_root.get("RegularKey") != key_account:
            raise TxFailure("tefBAD_SIGNATURE")
        total += weights[address]
    if total < int(signer_list["SignerQuorum"]):
        raise TxFailure("tefBAD_QUORUM")


def _preclaim_common(ctx: Context, view: ApplyView) -> Entry:
    tx = ctx.tx
    account = view.account(ctx.account)
    if account is None:
        raise TxFailure("terNO_ACCOUNT")
    sequence = int(tx["Sequence"])
    account_sequence = int(account["Sequence"])
    if sequence > account_sequence:
        raise TxFailure("terPRE_SEQ")
    if sequence < account_sequence:
        raise TxFailure("tefPAST_SEQ")
    if "AccountTxnID" in tx and account.get("AccountTxnID", "0" * 64) != tx["AccountTxnID"]:
        raise TxFailure("tefWRONG_PRIOR")
    last_ledger = tx.get("LastLedgerSequence")
    if isinstance(last_ledger, int) and last_ledger < ctx.ledger_seq:
        raise TxFailure("tefMAX_LEDGER")
    fee_due = ctx.fees.base_fee * (1 + ctx.signer_count)
    if ctx.fee < fee_due:
        raise TxFailure("telINSUF_FEE_P")
    if ctx.fee > 0 and int(account["Balance"]) < ctx.fee:
        raise TxFailure("terINSUF_FEE_B")
    _check_sign(ctx, view, account)
    return account


def _charge_fee_and_sequence(ctx: Context, view: ApplyView) -> None:
    account = view.peek_account(ctx.account)
    assert account is not None
    ctx.prior_balance = int(account["Balance"])
    _add_balance(account, -min(ctx.fee, ctx.prior_balance))
    account["Sequence"] = int(account["Sequence"]) + 1


def apply_transaction(
    entries: Mapping[str, Entry],
    tx: Mapping[str, Any],
    *,
    tx_hash: str,
    ledger_seq: int,
    parent_close_time: int,
    tx_index: int,
    fees: Fees,
    verify: Verifier,
    network_id: int | None = None,
) -> Outcome:
    """Apply one transaction whose signatures already passed `check_validity`.

    Returns the result token; when `applied`, `changes` holds the entries to write into the
    open ledger and `meta` the transaction metadata. Never raises for a bad transaction.
    """
    ctx = Context(
        tx=tx,
        tx_hash=tx_hash,
        ledger_seq=ledger_seq,
        parent_close_time=parent_close_time,
        fees=fees,
        verify=verify,
        network_id=network_id,
    )
    try:
        transactor = _preflight_common(ctx)
        probe = ApplyView(entries)
        _preclaim_common(ctx, probe)
        transactor.preclaim(ctx, probe)
    except TxFailure as failure:
        if not is_tec(failure.token):
            return Outcome(result=failure.token, applied=False, note=failure.note)
        return _claim_fee(ctx, entries, failure.token, tx_index, failure.note)
    except (KeyError, TypeError, ValueError) as exc:
        return Outcome(result="temMALFORMED", applied=False, note=f"malformed field: {exc}")

    view = ApplyView(entries)
    ctx.view = view
    _charge_fee_and_sequence(ctx, view)
    try:
        transactor.do_apply(ctx)
    except TxFailure as failure:
        if is_tec(failure.token):
            return _claim_fee(ctx, entries, failure.token, tx_index, failure.note)
        return Outcome(result=failure.token, applied=False, note=failure.note)
    except (KeyError, TypeError, ValueError) as exc:
        return Outcome(result="temMALFORMED", applied=False, note=f"malformed field: {exc}")
    meta = build_meta(
        view, tx_hash=tx_hash, ledger_seq=ledger_seq, result="tesSUCCESS", tx_index=tx_index
    )
    if ctx.delivered is not None:
        meta["delivered_amount"] = str(ctx.delivered)
    return Outcome(result="tesSUCCESS", applied=True, meta=meta, changes=view.changes)


def _claim_fee(
    ctx: Context, entries: Mapping[str, Entry], token: str, tx_index: int, note: str
) -> Outcome:
    """A tec result: only the fee and the sequence are taken."""
    view = ApplyView(entries)
    ctx.view = view
    _charge_fee_and_sequence(ctx, view)
    meta = build_meta(
        view, tx_hash=ctx.tx_hash, ledger_seq=ctx.ledger_seq, result=token, tx_index=tx_index
    )
    return Outcome(result=token, applied=True, meta=meta, changes=view.changes, note=note)
