"""Key-management errors. Messages never hold key material."""

from __future__ import annotations

from channels_app.exceptions import Conflict, DropgateError


class KeystoreUnavailable(DropgateError):
    code = "keystore_unavailable"
    http_status = 503
    default_message = "The keystore cannot be reached right now."
    retry_after = 5


class KeyPurposeReserved(DropgateError):
    code = "key_purpose_reserved"
    http_status = 501
    default_message = "Keys for this purpose are not issued yet."


class KeyUnavailable(DropgateError):
    """No usable key: it was revoked or destroyed and nothing has replaced it."""

    code = "key_unavailable"
    http_status = 503
    default_message = "No usable key for this purpose."


class KeyOperationFailed(DropgateError):
    """The ledger refused a key-management transaction; nothing changed on our side."""

    code = "key_operation_failed"
    http_status = 502


class KeyOperationPending(DropgateError):
    """The ledger has not said yet; `keys_status` (or the next rotation) resolves it."""

    code = "key_operation_pending"
    http_status = 202
    default_message = "The key change was submitted and is not validated yet."


class RotationInProgress(Conflict):
    code = "key_rotation_in_progress"
    default_message = "Another rotation of this key is in progress."


class PayoutsPaused(DropgateError):
    code = "payouts_paused"
    http_status = 423
    default_message = "Payouts are paused by an administrator."


class AccountNotHardened(DropgateError):
    code = "account_not_hardened"
    http_status = 409
    default_message = "The settlement account has no regular key yet; run the hardening first."


class LedgerKeyMismatch(DropgateError):
    """The ledger authorises a key this platform does not hold: a compromise, escalate."""

    code = "ledger_key_mismatch"
    http_status = 409
