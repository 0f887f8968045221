"""rippled JSON-RPC method handlers over the sandbox ledger.

`Sandbox` owns the ledger state, the clock and the store, and one lock around all of them.
`Sandbox.handle(method, params, admin=...)` returns the `result` object of a rippled
response: either a success body with `status: success` or rippled's error shape.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xrpl.core.addresscodec import encode_account_public_key, is_valid_classic_address
from xrpl.core.binarycodec import decode, encode

from channels_app.sandbox import codes
from channels_app.sandbox.engine import (
    LSF_DEFAULT_RIPPLE,
    LSF_DEPOSIT_AUTH,
    LSF_DISABLE_MASTER,
    LSF_DISALLOW_INCOMING_CHECK,
    LSF_DISALLOW_INCOMING_NFTOKEN_OFFER,
    LSF_DISALLOW_INCOMING_PAYCHAN,
    LSF_DISALLOW_INCOMING_TRUSTLINE,
    LSF_DISALLOW_XRP,
    LSF_GLOBAL_FREEZE,
    LSF_NO_FREEZE,
    LSF_PASSWORD_SPENT,
    LSF_REQUIRE_AUTH,
    LSF_REQUIRE_DEST_TAG,
    Verifier,
    apply_transaction,
    check_validity,
    project_verifier,
)
from channels_app.sandbox.state import (
    Entry,
    Fees,
    LedgerState,
    SqliteStore,
    keylet_account,
    keylet_signer_list,
    transaction_hash,
)
from channels_app.sandbox.timekeeping import LedgerClock, ripple_to_human, ripple_to_iso

logger = logging.getLogger(__name__)

BUILD_VERSION = "2.4.0"
ADMIN_METHODS = frozenset({"ledger_accept", "sandbox_advance_time"})


class RpcError(Exception):
    def __init__(self, token: str, message: str | None = None, **extra: Any) -> None:
        super().__init__(token)
        self.token = token
        self.message = message
        self.extra = extra


def error_result(
    token: str, message: str | None = None, request: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    code, default = codes.RPC_ERRORS.get(token, (-1, token))
    result: dict[str, Any] = {"error": token, "status": "error", **extra}
    if code >= 0:
        result["error_code"] = code
    result["error_message"] = message or default
    if request is not None:
        result["request"] = request
    return result


def _api_version(params: dict[str, Any]) -> int:
    version = params.get("api_version", 1)
    return version if isinstance(version, int) and version in (1, 2) else 1


class Sandbox:
    """The sandbox ledger: state, persistence, clock and the RPC methods."""

    def __init__(
        self,
        data_dir: Path,
        *,
        allow_time_travel: bool = False,
        fees: Fees | None = None,
        clock: LedgerClock | None = None,
        verify: Verifier = project_verifier,
        network_id: int = 0,
    ) -> None:
        self.lock = threading.RLock()
        # The NetworkID server_info reports and transactions are checked against (rippled's
        # [network_id]); above 1024 every transaction must carry it.
        self.network_id = network_id
        self.fees = fees or Fees()
        self.clock = clock or LedgerClock()
        self.verify = verify
        self.allow_time_travel = allow_time_travel
        self.store = SqliteStore(data_dir)
        self.state = LedgerState()
        self.started = self.clock.now()
        with self.lock:
            if self.store.load(self.state):
                self.clock.offset = max(self.clock.offset, self.state.time_offset)
                self._reapply_open_transactions()
            else:
                self.state.genesis(self.clock.now())
                self.store.save_close(self.state, self.state.last_closed)
        self.methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "server_info": self._server_info,
            "server_state": self._server_state,
            "fee": self._fee,
            "account_info": self._account_info,
            "account_channels": self._account_channels,
            "ledger_entry": self._ledger_entry,
            "submit": self._submit,
            "submit_multisigned": self._submit_multisigned,
            "tx": self._tx,
            "ledger_accept": self._ledger_accept,
            "ledger_current": self._ledger_current,
            "ledger_closed": self._ledger_closed,
            "ledger": self._ledger,
            "ping": lambda params: {},
            "sandbox_advance_time": self._advance_time,
        }

    def shutdown(self) -> None:
        with self.lock:
            self.store.close()

    # -- dispatch ------------------------------------------------------------------------

    def handle(self, method: Any, params: Any, *, admin: bool = True) -> dict[str, Any]:
        """Run one method; always returns a rippled `result` object, never raises."""
        request = dict(params) if isinstance(params, dict) else {}
        if isinstance(method, str):
            request["command"] = method
        if not isinstance(method, str) or not method:
            return error_result("unknownCmd", request=request)
        handler = self.methods.get(method)
        if handler is None:
            return error_result("unknownCmd", request=request)
        if not isinstance(params, dict):
            return error_result("invalidParams", request=request)
        if method in ADMIN_METHODS and not admin:
            return error_result("noPermission", request=request)
        try:
            with self.lock:
                result = handler(params)
        except RpcError as exc:
            return error_result(exc.token, exc.message, request=request, **exc.extra)
        except Exception:
            logger.exception("sandbox: %s failed", method)
            return error_result("internal", request=request)
        result["status"] = "success"
        return result

    # -- ledger closing ------------------------------------------------------------------

    def close_ledger_on_timer(self) -> dict[str, Any] | None:
        """The timer's close. An empty ledger is closed only once wall-clock time has
        passed its parent's close time, so idle fast closes (0.2 s in tests) do not push
        ledger time ahead of the clock by +1 s each; a ledger holding transactions always
        closes, so submitted transactions validate within one interval."""
        with self.lock:
            if not self.state.open_tx_hashes and self.clock.now() <= self.state.parent_close_time:
                return None
            return self.close_ledger()

    def close_ledger(self) -> dict[str, Any]:
        """Close the open ledger (timer or ledger_accept); its transactions become validated."""
        with self.lock:
            close_time = self.clock.next_close_time(self.state.parent_close_time)
            self.state.time_offset = self.clock.offset
            header = self.state.close(close_time)
            self.store.save_close(self.state, header)
            return header

    def _reapply_open_transactions(self) -> None:
        pending = [r for r in self.state.txs.values() if not r.get("validated")]
        for record in pending:
            del self.state.txs[record["hash"]]
        for record in pending:
            outcome = self._apply_blob(bytes.fromhex(record["blob"]), record["tx"], record["hash"])
            if not outcome["applied"]:
                # It no longer applies (rippled would drop it from its held set too).
                self.store.delete_tx(record["hash"])

    # -- selecting a ledger ----------------------------------------------------------------

    def _select_ledger(self, params: dict[str, Any], default: str = "current") -> int:
        ledger_hash = params.get("ledger_hash")
        if ledger_hash is not None:
            if not isinstance(ledger_hash, str):
                raise RpcError("invalidParams", "ledgerHashNotString")
            for seq, header in self.state.headers.items():
                if header["ledger_hash"] == ledger_hash.upper():
                    if self.state.entries_at(seq) is None:
                        break
                    return seq
            raise RpcError("lgrNotFound", "ledgerNotFound")
        index = params.get("ledger_index", default)
        if index in ("current", None):
            return self.state.open_seq
        if index in ("validated", "closed"):
            return self.state.last_closed_seq
        if isinstance(index, str) and index.isdigit():
            index = int(index)
        if not isinstance(index, int) or isinstance(index, bool):
            raise RpcError("invalidParams", "ledgerIndexMalformed")
        if self.state.entries_at(index) is None:
            raise RpcError("lgrNotFound", "ledgerNotFound")
        return index

    def _ledger_fields(self, seq: int) -> dict[str, Any]:
        if seq == self.state.open_seq:
            return {"ledger_current_index": seq, "validated": False}
        return {
            "ledger_hash": self.state.headers[seq]["ledger_hash"],
            "ledger_index": seq,
            "validated": True,
        }

    # -- server ----------------------------------------------------------------------------

    def _complete_ledgers(self) -> str:
        return f"{min(self.state.headers)}-{self.state.last_closed_seq}"

    def _server_info(self, params: dict[str, Any]) -> dict[str, Any]:
        closed = self.state.last_closed
        return {
            "info": {
                "build_version": BUILD_VERSION,
                "complete_ledgers": self._complete_ledgers(),
                "hostid": "sandbox",
                "io_latency_ms": 1,
                "jq_trans_overflow": "0",
                "last_close": {"converge_time_s": 0, "proposers": 0},
                "load_factor": 1,
                "network_id": self.network_id,
                "peer_disconnects": "0",
                "peer_disconnects_resources": "0",
                "peers": 0,
                "pubkey_node": "n9KAa2zVWjPHgfzsE3iZ8HAbzJtPrnoh4H2M2HgE7dfqtvyEb1KJ",
                "server_state": "full",
                "server_state_duration_us": "0",
                "time": ripple_to_human(self.clock.now()),
                "uptime": max(0, self.clock.now() - self.started),
                "validated_ledger": {
                    "age": max(0, self.clock.now() - int(closed["close_time"])),
                    "base_fee_xrp": self.fees.base_fee / 1_000_000,
                    "hash": closed["ledger_hash"],
                    "reserve_base_xrp": self.fees.reserve_base / 1_000_000,
                    "reserve_inc_xrp": self.fees.reserve_inc / 1_000_000,
                    "seq": self.state.last_closed_seq,
                },
                "validation_quorum": 0,
            }
        }

    def _server_state(self, params: dict[str, Any]) -> dict[str, Any]:
        closed = self.state.last_closed
        return {
            "state": {
                "build_version": BUILD_VERSION,
                "complete_ledgers": self._complete_ledgers(),
                "io_latency_ms": 1,
                "load_base": 256,
                "load_factor": 256,
                "load_factor_fee_escalation": 256,
                "load_factor_fee_queue": 256,
                "load_factor_fee_reference": 256,
                "load_factor_server": 256,
                "peers": 0,
                "pubkey_node": "n9KAa2zVWjPHgfzsE3iZ8HAbzJtPrnoh4H2M2HgE7dfqtvyEb1KJ",
                "server_state": "full",
                "uptime": max(0, self.clock.now() - self.started),
                "validated_ledger": {
                    "base_fee": self.fees.base_fee,
                    "close_time": closed["close_time"],
                    "hash": closed["ledger_hash"],
                    "reserve_base": self.fees.reserve_base,
                    "reserve_inc": self.fees.reserve_inc,
                    "seq": self.state.last_closed_seq,
                },
                "validation_quorum": 0,
            }
        }

    def _fee(self, params: dict[str, Any]) -> dict[str, Any]:
        base = str(self.fees.base_fee)
        return {
            "current_ledger_size": str(len(self.state.open_tx_hashes)),
            "current_queue_size": "0",
            "drops": {
                "base_fee": base,
                "median_fee": str(self.fees.base_fee * 500),
                "minimum_fee": base,
                "open_ledger_fee": base,
            },
            "expected_ledger_size": "1000",
            "ledger_current_index": self.state.open_seq,
            "levels": {
                "median_level": "128000",
                "minimum_level": "256",
                "open_ledger_level": "256",
                "reference_level": "256",
            },
            "max_queue_size": "20000",
        }

    # -- accounts --------------------------------------------------------------------------

    @staticmethod
    def _account_param(params: dict[str, Any], name: str = "account") -> str:
        if name not in params:
            raise RpcError("invalidParams", f"Missing field '{name}'.")
        value = params[name]
        if not isinstance(value, str) or not is_valid_classic_address(value):
            raise RpcError("actMalformed")
        return value

    def _account_info(self, params: dict[str, Any]) -> dict[str, Any]:
        address = self._account_param(params)
        seq = self._select_ledger(params)
        entries = self.state.entries_at(seq) or {}
        index = keylet_account(address)
        entry = entries.get(index)
        if entry is None:
            raise RpcError("actNotFound", account=address, **self._ledger_fields(seq))
        data = {**copy.deepcopy(entry), "index": index}
        flags = int(entry["Flags"])
        result: dict[str, Any] = {
            "account_data": data,
            "account_flags": {
                "defaultRipple": bool(flags & LSF_DEFAULT_RIPPLE),
                "depositAuth": bool(flags & LSF_DEPOSIT_AUTH),
                "disableMasterKey": bool(flags & LSF_DISABLE_MASTER),
                "disallowIncomingCheck": bool(flags & LSF_DISALLOW_INCOMING_CHECK),
                "disallowIncomingNFTokenOffer": bool(flags & LSF_DISALLOW_INCOMING_NFTOKEN_OFFER),
                "disallowIncomingPayChan": bool(flags & LSF_DISALLOW_INCOMING_PAYCHAN),
                "disallowIncomingTrustline": bool(flags & LSF_DISALLOW_INCOMING_TRUSTLINE),
                "disallowIncomingXRP": bool(flags & LSF_DISALLOW_XRP),
                "globalFreeze": bool(flags & LSF_GLOBAL_FREEZE),
                "noFreeze": bool(flags & LSF_NO_FREEZE),
                "passwordSpent": bool(flags & LSF_PASSWORD_SPENT),
                "requireAuthorization": bool(flags & LSF_REQUIRE_AUTH),
                "requireDestinationTag": bool(flags & LSF_REQUIRE_DEST_TAG),
            },
            **self._ledger_fields(seq),
        }
        if params.get("signer_lists"):
            lists = []
            signer_index = keylet_signer_list(address)
            signer_list = entries.get(signer_index)
            if signer_list is not None:
                lists.append({**copy.deepcopy(signer_list), "index": signer_index})
            if _api_version(params) >= 2:
                result["signer_lists"] = lists
            else:
                data["signer_lists"] = lists
        if params.get("queue") and seq == self.state.open_seq:
            result["queue_data"] = {"txn_count": 0}
        return result

    def _account_channels(self, params: dict[str, Any]) -> dict[str, Any]:
        address = self._account_param(params)
        destination = None
        if params.get("destination_account") is not None:
            destination = params["destination_account"]
            if not isinstance(destination, str) or not is_valid_classic_address(destination):
                raise RpcError("actMalformed")
        limit = params.get("limit", 200)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
            raise RpcError("invalidParams", "Invalid field 'limit'.")
        seq = self._select_ledger(params)
        entries = self.state.entries_at(seq) or {}
        if keylet_account(address) not in entries:
            raise RpcError("actNotFound", account=address, **self._ledger_fields(seq))
        channels = [
            (index, entry)
            for index, entry in entries.items()
            if entry.get("LedgerEntryType") == "PayChannel"
            and entry["Account"] == address
            and (destination is None or entry["Destination"] == destination)
        ]
        marker = params.get("marker")
        if marker is not None:
            start = str(marker).split(",")[0].upper() if isinstance(marker, str) else None
            positions = [i for i, (index, _) in enumerate(channels) if index == start]
            if not positions:
                raise RpcError("invalidParams", "Invalid field 'marker'.")
            channels = channels[positions[0] :]
        page, rest = channels[:limit], channels[limit:]
        result: dict[str, Any] = {
            "account": address,
            "channels": [self._channel_json(index, entry) for index, entry in page],
            **self._ledger_fields(seq),
        }
        if rest:
            result["limit"] = limit
            result["marker"] = f"{rest[0][0]},0"
        return result

    @staticmethod
    def _channel_json(index: str, entry: Entry) -> dict[str, Any]:
        public_key = str(entry["PublicKey"]).upper()
        channel: dict[str, Any] = {
            "account": entry["Account"],
            "amount": entry["Amount"],
            "balance": entry["Balance"],
            "channel_id": index,
            "destination_account": entry["Destination"],
            "public_key": encode_account_public_key(bytes.fromhex(public_key)),
            "public_key_hex": public_key,
            "settle_delay": entry["SettleDelay"],
        }
        for field, name in (
            ("Expiration", "expiration"),
            ("CancelAfter", "cancel_after"),
            ("SourceTag", "source_tag"),
            ("DestinationTag", "destination_tag"),
        ):
            if field in entry:
                channel[name] = entry[field]
        return channel

    def _ledger_entry(self, params: dict[str, Any]) -> dict[str, Any]:
        seq = self._select_ledger(params)
        entries = self.state.entries_at(seq) or {}
        expected: str | None = None
        if "index" in params:
            index = self._hash_param(params["index"], "index")
        elif "payment_channel" in params:
            index = self._hash_param(params["payment_channel"], "payment_channel")
            expected = "PayChannel"
        elif "account_root" in params:
            address = params["account_root"]
            if not isinstance(address, str) or not is_valid_classic_address(address):
                raise RpcError("invalidParams", "Invalid field 'account_root'.")
            index = keylet_account(address)
            expected = "AccountRoot"
        elif "signer_list" in params:
            address = params["signer_list"]
            if not isinstance(address, str) or not is_valid_classic_address(address):
                raise RpcError("invalidParams", "Invalid field 'signer_list'.")
            index = keylet_signer_list(address)
            expected = "SignerList"
        else:
            raise RpcError("invalidParams", "No ledger_entry params provided.")
        entry = entries.get(index)
        if entry is None:
            raise RpcError("entryNotFound", **self._ledger_fields(seq))
        if expected is not None and entry["LedgerEntryType"] != expected:
            raise RpcError("unexpectedLedgerType", **self._ledger_fields(seq))
        result: dict[str, Any] = {"index": index, **self._ledger_fields(seq)}
        if params.get("binary"):
            result["node_binary"] = encode(copy.deepcopy(entry))
        else:
            result["node"] = {**copy.deepcopy(entry), "index": index}
        return result

    @staticmethod
    def _hash_param(value: Any, name: str) -> str:
        if not isinstance(value, str) or len(value) != 64:
            raise RpcError("invalidParams", f"Invalid field '{name}'.")
        try:
            bytes.fromhex(value)
        except ValueError:
            raise RpcError("invalidParams", f"Invalid field '{name}'.") from None
        return value.upper()

    # -- transactions ----------------------------------------------------------------------

    def _submit(self, params: dict[str, Any]) -> dict[str, Any]:
        blob_hex = params.get("tx_blob")
        if blob_hex is None:
            if "tx_json" in params:
                raise RpcError("notSupported", "Signing is not supported by this server.")
            raise RpcError("invalidParams", "Missing field 'tx_blob'.")
        if not isinstance(blob_hex, str) or not blob_hex:
            raise RpcError("invalidParams")
        try:
            blob = bytes.fromhex(blob_hex)
        except ValueError:
            raise RpcError("invalidParams") from None
        if not blob:
            raise RpcError("invalidParams")
        try:
            tx = decode(blob.hex())
        except Exception as exc:
            raise RpcError("invalidTransaction", None, error_exception=str(exc)) from None
        if not isinstance(tx, dict) or "TransactionType" not in tx:
            raise RpcError("invalidTransaction", None, error_exception="invalid transaction")
        return self._submit_decoded(blob, tx)

    def _submit_multisigned(self, params: dict[str, Any]) -> dict[str, Any]:
        tx_json = params.get("tx_json")
        if not isinstance(tx_json, dict):
            raise RpcError("invalidParams", "Missing field 'tx_json'.")
        for name in ("Account", "TransactionType", "Fee", "Sequence", "Signers"):
            if name not in tx_json:
                raise RpcError("invalidParams", f"Missing field 'tx_json.{name}'.")
        if tx_json.get("SigningPubKey", "") != "":
            raise RpcError("invalidParams", "Invalid field 'tx_json.SigningPubKey'.")
        tx_json = {**tx_json, "SigningPubKey": ""}
        try:
            blob = bytes.fromhex(encode(tx_json))
            tx = decode(blob.hex())
        except Exception as exc:
            raise RpcError("invalidTransaction", None, error_exception=str(exc)) from None
        return self._submit_decoded(blob, tx)

    def _submit_decoded(self, blob: bytes, tx: dict[str, Any]) -> dict[str, Any]:
        reason = check_validity(tx, self.verify)
        if reason is not None:
            raise RpcError(
                "invalidTransaction", None, error_exception=f"fails local checks: {reason}"
            )
        tx_hash = transaction_hash(blob)
        record = self._apply_blob(blob, tx, tx_hash)
        result_token = record["result"]
        account = tx.get("Account")
        root = self.state.open_entries.get(keylet_account(account)) if account else None
        next_seq = int(root["Sequence"]) if root else 0
        message = codes.result_message(result_token)
        if record.get("note"):
            message = f"{message} ({record['note']})"
        return {
            "accepted": record["applied"],
            "account_sequence_available": next_seq,
            "account_sequence_next": next_seq,
            "applied": record["applied"],
            "broadcast": False,
            "engine_result": result_token,
            "engine_result_code": codes.result_code(result_token),
            "engine_result_message": message,
            "kept": record["applied"],
            "open_ledger_cost": str(self.fees.base_fee),
            "queued": False,
            "tx_blob": blob.hex().upper(),
            "tx_json": {**tx, "hash": tx_hash},
            "validated_ledger_index": self.state.last_closed_seq,
        }

    def _apply_blob(self, blob: bytes, tx: dict[str, Any], tx_hash: str) -> dict[str, Any]:
        """Apply to the open ledger. Applied transactions are recorded and persisted."""
        outcome = apply_transaction(
            self.state.open_entries,
            tx,
            tx_hash=tx_hash,
            ledger_seq=self.state.open_seq,
            parent_close_time=self.state.parent_close_time,
            tx_index=len(self.state.open_tx_hashes),
            fees=self.fees,
            verify=self.verify,
            network_id=self.network_id,
        )
        record: dict[str, Any] = {
            "hash": tx_hash,
            "blob": blob.hex().upper(),
            "tx": tx,
            "result": outcome.result,
            "applied": outcome.applied,
            "note": outcome.note,
        }
        if not outcome.applied:
            return record
        self.state.commit_open(outcome.changes)
        record.update(
            meta=outcome.meta,
            ledger_index=self.state.open_seq,
            validated=False,
            ledger_hash=None,
            close_time=None,
        )
        self.state.txs[tx_hash] = record
        self.state.open_tx_hashes.append(tx_hash)
        self.store.save_tx(record)
        return record

    def _tx(self, params: dict[str, Any]) -> dict[str, Any]:
        tx_hash = params.get("transaction")
        if not isinstance(tx_hash, str):
            raise RpcError("invalidParams", "Missing field 'transaction'.")
        record = self.state.txs.get(tx_hash.upper())
        if record is None:
            raise RpcError("txnNotFound")
        return self._tx_json(record, _api_version(params), binary=bool(params.get("binary")))

    def _tx_json(self, record: dict[str, Any], api_version: int, *, binary: bool) -> dict[str, Any]:
        validated = bool(record.get("validated"))
        tx: dict[str, Any] | str = record["blob"] if binary else copy.deepcopy(record["tx"])
        result: dict[str, Any] = {"hash": record["hash"]}
        if validated:
            result["ledger_index"] = record["ledger_index"]
            close_time = int(record["close_time"])
            meta = copy.deepcopy(record["meta"])
            if binary:
                meta = encode(_meta_for_codec(meta))
            if api_version >= 2:
                result["ledger_hash"] = record["ledger_hash"]
                result["close_time_iso"] = ripple_to_iso(close_time)
                result["meta_blob" if binary else "meta"] = meta
                result["tx_blob" if binary else "tx_json"] = tx
            else:
                result["date"] = close_time
                result["inLedger"] = record["ledger_index"]
                result["meta"] = meta
                if binary:
                    result["tx"] = tx
                else:
                    assert isinstance(tx, dict)
                    result.update(tx)
        elif api_version >= 2:
            result["tx_blob" if binary else "tx_json"] = tx
        elif binary:
            result["tx"] = tx
        else:
            assert isinstance(tx, dict)
            result.update(tx)
        result["validated"] = validated
        return result

    # -- ledgers ---------------------------------------------------------------------------

    def _ledger_accept(self, params: dict[str, Any]) -> dict[str, Any]:
        self.close_ledger()
        return {"ledger_current_index": self.state.open_seq}

    def _ledger_current(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ledger_current_index": self.state.open_seq}

    def _ledger_closed(self, params: dict[str, Any]) -> dict[str, Any]:
        closed = self.state.last_closed
        return {"ledger_hash": closed["ledger_hash"], "ledger_index": self.state.last_closed_seq}

    def _ledger(self, params: dict[str, Any]) -> dict[str, Any]:
        api_version = _api_version(params)
        if params.get("ledger_hash") is None and isinstance(params.get("ledger_index"), int):
            seq = params["ledger_index"]
            if seq not in self.state.headers and seq != self.state.open_seq:
                raise RpcError("lgrNotFound", "ledgerNotFound")
        else:
            seq = self._select_ledger(params)
        want_txs = bool(params.get("transactions"))
        expand = bool(params.get("expand"))
        if seq == self.state.open_seq:
            parent = self.state.last_closed
            ledger: dict[str, Any] = {
                "closed": False,
                "ledger_index": seq if api_version >= 2 else str(seq),
                "parent_close_time": parent["close_time"],
                "parent_hash": parent["ledger_hash"],
                "total_coins": parent["total_coins"],
            }
            hashes = list(self.state.open_tx_hashes)
        else:
            header = self.state.headers[seq]
            close_time = int(header["close_time"])
            ledger = {
                "account_hash": header["account_hash"],
                "close_flags": 0,
                "close_time": close_time,
                "close_time_human": ripple_to_human(close_time),
                "close_time_iso": ripple_to_iso(close_time),
                "close_time_resolution": 10,
                "closed": True,
                "ledger_hash": header["ledger_hash"],
                "ledger_index": seq if api_version >= 2 else str(seq),
                "parent_close_time": header["parent_close_time"],
                "parent_hash": header["parent_hash"],
                "total_coins": header["total_coins"],
                "transaction_hash": header["transaction_hash"],
            }
            hashes = list(header["transactions"])
        if want_txs:
            if expand:
                ledger["transactions"] = [
                    self._expanded_tx(self.state.txs[h], api_version) for h in hashes
                ]
            else:
                ledger["transactions"] = hashes
        result: dict[str, Any] = {"ledger": ledger, **self._ledger_fields(seq)}
        return result

    def _expanded_tx(self, record: dict[str, Any], api_version: int) -> dict[str, Any]:
        meta = copy.deepcopy(record.get("meta"))
        if api_version >= 2:
            item: dict[str, Any] = {"hash": record["hash"], "tx_json": copy.deepcopy(record["tx"])}
            if meta is not None:
                item["meta"] = meta
            return item
        item = {**copy.deepcopy(record["tx"]), "hash": record["hash"]}
        if meta is not None:
            item["metaData"] = meta
        return item

    # -- time travel -----------------------------------------------------------------------

    def _advance_time(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.allow_time_travel:
            raise RpcError(
                "notEnabled",
                "Time travel is disabled; start the sandbox with --allow-time-travel.",
            )
        seconds = params.get("seconds")
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
            raise RpcError("invalidParams", "Invalid field 'seconds', not a non-negative integer.")
        # Measured from the current ledger time, which may run ahead of the wall clock when
        # ledgers closed faster than one a second: the next close is >= parent + seconds.
        lead = max(0, self.state.parent_close_time - self.clock.now())
        self.clock.advance(seconds + lead)
        # Close at once so the open ledger's parent close time (what channel rules read)
        # already reflects the jump.
        header = self.close_ledger()
        return {
            "ledger_current_index": self.state.open_seq,
            "close_time": header["close_time"],
            "time_offset": self.clock.offset,
        }


def _meta_for_codec(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k != "delivered_amount"}
