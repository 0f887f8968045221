"""Errors of payouts, approvals, refunds and credits, each with a stable code."""

from __future__ import annotations

from channels_app.exceptions import Conflict, DropgateError, NotFound

try:  # one error for "paused" whichever module noticed it first
    from channels_app.keys.exceptions import PayoutsPaused
except ImportError:  # the key service's exceptions are not there yet

    class PayoutsPaused(DropgateError):  # type: ignore[no-redef]
        code = "payouts_paused"
        http_status = 423
        default_message = "Payouts are paused by an administrator."


class VaultNotReady(DropgateError):
    code = "vault_not_ready"
    http_status = 409
    default_message = "The vault account is not set up (run vault_bootstrap)."


class VaultSetupFailed(DropgateError):
    code = "vault_setup_failed"
    http_status = 502


class ApprovalRefused(DropgateError):
    """A multisign approval that must not count: wrong signer, wrong key or wrong transaction."""

    code = "approval_refused"
    http_status = 422
    default_message = "The approval is not a valid signature by a vault signer over this payout."


class PayoutNotApprovable(Conflict):
    code = "payout_not_approvable"
    default_message = "The payout is not waiting for approvals."


class PayoutNotCancellable(Conflict):
    code = "payout_not_cancellable"
    default_message = (
        "Only queued payouts, or vault payouts still collecting approvals, can be cancelled."
    )


class PayoutNotFound(NotFound):
    code = "payout_not_found"


class HotFloatInsufficient(Conflict):
    code = "hot_float_insufficient"
    default_message = "The hot account's float cannot cover this payment now."


class RefundRejected(DropgateError):
    code = "refund_rejected"
    http_status = 422


class RefundReferenceConflict(Conflict):
    code = "refund_reference_conflict"
    default_message = "A different refund was already issued under this reference."


class CreditInsufficient(DropgateError):
    code = "credit_insufficient"
    http_status = 402
    default_message = "The reader's credit does not cover this amount."


class CreditReferenceConflict(Conflict):
    code = "credit_reference_conflict"
    default_message = "A different credit use was already recorded under this reference."


class VaultQuorumUnavailable(DropgateError):
    """Fewer than a quorum of the vault's current signers can sign: the SignerList cannot be
    changed by the platform (nothing was changed)."""

    code = "vault_quorum_unavailable"
    http_status = 409


class VaultBusy(Conflict):
    code = "vault_busy"
    default_message = (
        "A vault payout is on its way to the ledger; rotate the signer once it has resolved."
    )


class VaultRotationFailed(DropgateError):
    """The ledger refused the SignerListSet; the old signer list and keys stay in force."""

    code = "vault_rotation_failed"
    http_status = 502


# --- Offline approvers (services/approvers.py) ----------------------------------------------


class ApproverRejected(DropgateError):
    """An approver key that cannot be registered. `code` names the check that failed."""

    code = "approver_rejected"
    http_status = 422


class VaultCustodyMismatch(Conflict):
    """The operation needs the other custody: server-held signer keys, or offline approvers."""

    code = "vault_custody_mismatch"


class VaultRequestNotFound(NotFound):
    code = "vault_request_not_found"
    default_message = "There is no such vault signing request."


class VaultRequestClosed(Conflict):
    """The request was submitted, cancelled, superseded (a new transaction) or is not open."""

    code = "vault_request_closed"
    default_message = "This vault signing request is no longer collecting signatures."


class VaultRequestExpired(DropgateError):
    """The ledger has passed the request's LastLedgerSequence: it can never apply."""

    code = "vault_request_expired"
    http_status = 410
    default_message = (
        "This vault signing request expired (its LastLedgerSequence passed); "
        "download the new request and sign that."
    )


class SignatureDocumentMalformed(DropgateError):
    code = "signature_document_malformed"
    http_status = 400
    default_message = "The signature file is not a Dropgate vault signature document."
