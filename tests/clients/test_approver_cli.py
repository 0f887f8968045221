"""The approvers' CLI on its own (no server, no database, no ledger): it signs only an unsigned
vault Payment or SignerListSet with every field fixed, exactly the blob it shows, and refuses
anything else with exit 1 and nothing written."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from xrpl.core.binarycodec import encode, encode_for_multisigning
from xrpl.core.keypairs import is_valid_message
from xrpl.wallet import Wallet

CLI_PATH = Path(__file__).resolve().parents[2] / "clients" / "approver" / "dropgate_approver.py"
VAULT = Wallet.create().classic_address


def load_cli() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dropgate_approver", CLI_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cli = load_cli()


def payment(**changes: Any) -> dict[str, Any]:
    tx: dict[str, Any] = {
        "TransactionType": "Payment",
        "Account": VAULT,
        "Destination": Wallet.create().classic_address,
        "Amount": "9000000",
        "Fee": "30",
        "Sequence": 7,
        "LastLedgerSequence": 5000,
        "SigningPubKey": "",
    }
    tx.update(changes)
    return {k: v for k, v in tx.items() if v is not None}


def request_file(tmp_path: Path, tx: dict[str, Any], **changes: Any) -> Path:
    blob = encode(tx)
    document = {
        "format": cli.REQUEST_FORMAT,
        "ref": "payout-1-7-5000",
        "kind": "payout",
        "vault": VAULT,
        "tx_blob": blob,
        "blob_sha256": hashlib.sha256(bytes.fromhex(blob)).hexdigest(),
        "signers": [],
        **changes,
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "key.json"
    assert cli.main(["keygen", "--out", str(path)]) == 0
    return path


def sign(tmp_path: Path, request: Path, key: Path) -> tuple[int, Path]:
    out = tmp_path / "signature.json"
    out.unlink(missing_ok=True)
    return cli.main(["sign", str(request), "--key", str(key), "--out", str(out), "--yes"]), out


def test_keygen_writes_a_private_file_and_register_proves_possession(
    tmp_path: Path, key: Path, capsys
) -> None:
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert cli.main(["keygen", "--out", str(key)]) == 2  # never overwrites a key
    capsys.readouterr()
    assert cli.main(["register", "--key", str(key), "--name", "Alice"]) == 0
    registration = json.loads(capsys.readouterr().out)
    message = cli.proof_message(registration["account"], registration["public_key"])
    assert is_valid_message(
        message, bytes.fromhex(registration["proof"]), registration["public_key"]
    )
    assert "seed" not in json.dumps(registration)
    # a key file others can read is refused
    os.chmod(key, 0o644)
    assert cli.main(["register", "--key", str(key), "--name", "Alice"]) == 1


def test_it_signs_exactly_the_blob_with_a_multisign_signature(tmp_path: Path, key: Path) -> None:
    tx = payment()
    code, out = sign(tmp_path, request_file(tmp_path, tx), key)
    assert code == 0
    signature = json.loads(out.read_text())
    wallet = json.loads(key.read_text())
    assert signature["account"] == wallet["account"]
    assert signature["signing_pub_key"] == wallet["public_key"]
    message = bytes.fromhex(encode_for_multisigning(tx, wallet["account"]))
    assert is_valid_message(
        message, bytes.fromhex(signature["txn_signature"]), wallet["public_key"]
    )


@pytest.mark.parametrize(
    "tx, changes, why",
    [
        (payment(LastLedgerSequence=None), {}, "no expiry"),
        (payment(Sequence=None), {}, "no sequence"),
        (payment(SendMax="10000000"), {}, "an extra field"),
        (payment(Amount={"currency": "USD", "issuer": VAULT, "value": "1"}), {}, "not XRP"),
        (payment(Flags=0x00020000), {}, "partial payment flag"),
        (payment(Fee="2000000"), {}, "fee above 1 XRP"),
        (payment(Account=Wallet.create().classic_address), {}, "not the vault"),
        (payment(SigningPubKey="ED" + "11" * 32), {}, "single-signed form"),
        (payment(TransactionType="AccountSet", Destination=None, Amount=None), {}, "other type"),
        (payment(), {"blob_sha256": "00" * 32}, "digest mismatch"),
        (payment(), {"signers": [Wallet.create().classic_address]}, "not in the signer list"),
    ],
)
def test_it_refuses_what_a_vault_request_never_is(
    tmp_path: Path, key: Path, tx: dict[str, Any], changes: dict[str, Any], why: str
) -> None:
    code, out = sign(tmp_path, request_file(tmp_path, tx, **changes), key)
    assert code == 1, why
    assert not out.exists()


def test_it_shows_the_blob_not_the_summary(tmp_path: Path, capsys) -> None:
    tx = payment()
    path = request_file(tmp_path, tx, summary={"destination": "rLIES"})
    assert cli.main(["show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert tx["Destination"] in shown and "9000000 drops" in shown and "rLIES" not in shown
    assert cli.main(["show", str(path), "--expect-vault", Wallet.create().classic_address]) == 1
