"""Settings of payouts, refunds and the vault, each with its safe default.

They are read when used, never at import time. Each is an environment variable listed in the
README; `paywall/settings.py` may also set them (tests override them through `settings`).
"""

from __future__ import annotations

import os

from django.conf import settings

# name: default
DEFAULTS: dict[str, int] = {
    # The settlement (hot) account keeps at most this float; the rest is swept to the vault.
    "DROPGATE_HOT_FLOAT_CAP_DROPS": 250_000_000,
    # A sweep moves at least this much, so a float just over the cap does not burn fees.
    "DROPGATE_SWEEP_MIN_DROPS": 10_000_000,
    # Revenue is payable only once the claim behind it is this old (and redeemed).
    "DROPGATE_PAYOUT_HOLDBACK_SECONDS": 7 * 86_400,
    # Payouts at or below this are paid from the hot account; above it, from the vault (2 of 3).
    "DROPGATE_PAYOUT_MULTISIGN_THRESHOLD_DROPS": 100_000_000,
    # Smaller balances wait for the next batch (1 XRP: also what a new destination needs).
    "DROPGATE_PAYOUT_MIN_DROPS": 1_000_000,
    # Hot payouts are signed and submitted in chunks of this many transactions.
    "DROPGATE_PAYOUT_CHUNK_SIZE": 100,
    # LastLedgerSequence of a hot payout, sweep or refund: the current ledger plus this.
    "DROPGATE_PAYOUT_LEDGER_MARGIN": 20,
    # How long a service call polls for its transactions to validate before leaving them
    # to the next resolve pass.
    "DROPGATE_PAYOUT_WAIT_SECONDS": 10,
    # LastLedgerSequence of a vault signing request (a vault payout, a SignerListSet): the
    # current ledger plus this. Approvers sign offline, so it is long: about 20 hours at
    # mainnet's 3-4 s per ledger. A request not signed by then expires and is prepared again.
    "DROPGATE_VAULT_REQUEST_LEDGERS": 20_000,
}


def setting(name: str) -> int:
    value = getattr(settings, name, None)
    if value is None:
        raw = os.environ.get(name, "")
        value = int(raw) if raw.strip() else DEFAULTS[name]
    return int(value)


def payouts_paused_by_setting() -> bool:
    """DROPGATE_PAYOUTS_PAUSED: the operator's switch (the key service adds its own)."""
    value = getattr(settings, "DROPGATE_PAYOUTS_PAUSED", None)
    if value is None:
        value = os.environ.get("DROPGATE_PAYOUTS_PAUSED", "").strip().lower() in {
            "1",
            "true",
            "yes",
            "on",
        }
    return bool(value)
