"""The one seam between payouts and key management: signers, the vault's key, the pause switch.

The key-management service (`channels_app.keys.services`) owns every platform key. Payouts use

- `payout_signer_addresses() -> list[str]`: the vault's 3 signers by signer index (0, 1, 2;
  the admin shows them as signers 1, 2, 3);
- `payout_signer_sign(*, signer_index, transaction) -> Transaction`: signer i's multisign
  signature (`Signers` holds exactly that one signer) over an autofilled transaction;
- `payouts_paused() -> bool`: set by an administrator or the compromise drill;
- `payout_vault_address()` and `payout_vault_harden()`: the vault account's own key, used once
  to install the SignerList and disable itself.

Each is looked up in the key service at call time. Where the key service does not provide one
(yet), this module stands in with an *interim* implementation: Ed25519 keys derived
(HKDF-SHA256) from the key-encryption key, so every process of a deployment agrees on them
without storing anything. That is for the sandbox only, never how production signers should
live (they belong in the keystore or an HSM, one per person). Nothing outside this module and
the key service ever holds a signer's or the vault's key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from xrpl.constants import CryptoAlgorithm
from xrpl.core.binarycodec import encode
from xrpl.core.keypairs import generate_seed
from xrpl.models.transactions import AccountSet, AccountSetAsfFlag, SignerEntry, SignerListSet
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import sign
from xrpl.wallet import Wallet

from channels_app import ledger
from channels_app.payouts.conf import payouts_paused_by_setting
from channels_app.payouts.exceptions import PayoutsPaused, VaultSetupFailed

logger = logging.getLogger(__name__)

SIGNER_COUNT = 3
SIGNER_QUORUM = 2
LSF_DISABLE_MASTER = 0x00100000


@dataclass(frozen=True)
class SetupTx:
    """A vault set-up transaction as the ledger took it (its fee is the vault's to journal)."""

    tx_type: str
    tx_hash: str
    result: str
    fee_drops: int


def _key_service(name: str) -> Callable[..., Any] | None:
    from channels_app.keys import services

    found = getattr(services, name, None)
    return found if callable(found) else None


def _derived_wallet(label: str) -> Wallet:
    entropy = HKDF(
        algorithm=hashes.SHA256(), length=16, salt=None, info=f"dropgate-{label}".encode()
    ).derive(settings.DROPGATE_KEK.encode())
    seed = generate_seed(entropy.hex(), algorithm=CryptoAlgorithm.ED25519)
    return Wallet.from_seed(seed, algorithm=CryptoAlgorithm.ED25519)


def _interim_signer(index: int) -> Wallet:
    if not 0 <= index < SIGNER_COUNT:
        raise ValueError(f"no payout signer {index}")
    return _derived_wallet(f"interim-payout-signer:{index}")


def payout_signer_addresses() -> list[str]:
    """The vault's signers, by signer index."""
    real = _key_service("payout_signer_addresses")
    if real is not None:
        return [str(address) for address in real()]
    return [_interim_signer(i).classic_address for i in range(SIGNER_COUNT)]


def payout_signer_sign(*, signer_index: int, transaction: Transaction) -> Transaction:
    """Signer `signer_index`'s multisign signature over `transaction` (autofilled, unsigned)."""
    if payouts_paused():
        raise PayoutsPaused()
    real = _key_service("payout_signer_sign")
    if real is not None:
        return cast(Transaction, real(signer_index=signer_index, transaction=transaction))
    return sign(transaction, _interim_signer(signer_index), multisign=True)


def payouts_paused() -> bool:
    """True while outgoing payments (payouts, ledger refunds) must not be signed or submitted."""
    if payouts_paused_by_setting():
        return True
    real = _key_service("payouts_paused")
    return bool(real is not None and real())


# --- The vault's own key ---------------------------------------------------------------------


def vault_address(*, nonce: str) -> str:
    """The address of the vault to set up (`nonce` names the interim key; the key service
    keeps its own)."""
    real = _key_service("payout_vault_address")
    if real is not None:
        return str(real())
    return _derived_wallet(f"vault-master:{nonce}").classic_address


def vault_setup_wallet(*, nonce: str) -> Wallet:
    """Interim only: the vault's master key, re-derivable so a crashed set-up can resume.

    After set-up the ledger refuses it (tefMASTER_DISABLED), so deriving it gives nothing away.
    """
    return _derived_wallet(f"vault-master:{nonce}")


def vault_harden(
    *, address: str, nonce: str, signer_addresses: list[str], quorum: int
) -> list[SetupTx]:
    """Install the SignerList (`quorum` of `signer_addresses`) and disable the vault's master
    key; idempotent (steps the ledger already shows are skipped). Returns the transactions it
    sent. Precondition: the vault is funded; no open transaction."""
    real = _key_service("payout_vault_harden")
    if real is not None:
        outcome = real(actor="vault_bootstrap")
        return [
            SetupTx(tx.tx_type, tx.tx_hash, tx.result, int(tx.fee_drops))
            for tx in outcome.transactions
        ]
    wallet = vault_setup_wallet(nonce=nonce)
    if wallet.classic_address != address:
        raise VaultSetupFailed("The vault's set-up key does not match its address.")
    sent: list[SetupTx] = []
    info = ledger.ledger_request(
        "account_info", account=address, ledger_index="validated", signer_lists=True
    )
    lists = info.get("signer_lists", info["account_data"].get("signer_lists", []))
    flags = int(info["account_data"].get("Flags", 0))
    if not lists:
        entries = [SignerEntry(account=a, signer_weight=1) for a in signer_addresses]
        sent.append(
            _interim_setup_tx(
                wallet,
                SignerListSet(account=address, signer_quorum=quorum, signer_entries=entries),
            )
        )
    if not flags & LSF_DISABLE_MASTER:
        sent.append(
            _interim_setup_tx(
                wallet, AccountSet(account=address, set_flag=AccountSetAsfFlag.ASF_DISABLE_MASTER)
            )
        )
    return sent


def _interim_setup_tx(wallet: Wallet, unsigned: Transaction) -> SetupTx:
    signed = sign(ledger.transaction_autofill(unsigned), wallet)
    tx_hash = signed.get_hash()
    result = ledger.submit_blob(encode(signed.to_xrpl()))
    if result.engine_result.startswith(("tem", "tef", "tel")):
        raise VaultSetupFailed(f"Vault set-up was refused ({result.engine_result}).")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = ledger.transaction_status(tx_hash)
        if status is not None and status.validated:
            if status.result != "tesSUCCESS":
                raise VaultSetupFailed(f"Vault set-up failed ({status.result}).")
            return SetupTx(
                signed.transaction_type.value, tx_hash, status.result, int(signed.fee or 0)
            )
        time.sleep(0.1)
    raise VaultSetupFailed(f"Vault set-up transaction {tx_hash} was not validated in time.")
