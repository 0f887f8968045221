#!/usr/bin/env python3
"""Dropgate vault approver: sign vault transactions offline, with a key the server never sees.

    dropgate_approver.py keygen --out KEY.json [--algorithm ed25519|secp256k1]
    dropgate_approver.py register --key KEY.json --name "Alice"     > registration.json
    dropgate_approver.py show REQUEST.json
    dropgate_approver.py sign REQUEST.json --key KEY.json --out SIGNATURE.json
                         [--expect-vault rVAULT] [--yes]

`sign` trusts nothing in the request file but the blob: it checks the blob against its digest,
decodes it, refuses anything but an unsigned Payment or SignerListSet of the vault with every
field fixed (Sequence, Fee, LastLedgerSequence), shows what the *blob* says, asks before
signing, and checks that the bytes xrpl-py signs are exactly the blob's. It signs with xrpl-py's
multisign signing (`xrpl.transaction.sign(..., multisign=True)`).

Exit codes: 0 done; 1 refused (a check failed, or you declined); 2 bad input or usage.
Needs only xrpl-py (see README.md beside this file). Never needs the network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from xrpl.constants import CryptoAlgorithm
from xrpl.core.binarycodec import decode, encode
from xrpl.core.keypairs import generate_seed
from xrpl.core.keypairs import sign as keypairs_sign
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import sign
from xrpl.wallet import Wallet

REQUEST_FORMAT = "dropgate-vault-request/1"
SIGNATURE_FORMAT = "dropgate-vault-signature/1"
REGISTRATION_FORMAT = "dropgate-vault-approver/1"
# Must equal channels_app.payouts.services.approvers.PROOF_DOMAIN.
PROOF_DOMAIN = b"dropgate-vault-approver/1\x00"
SIGNABLE_TYPES = {"Payment", "SignerListSet"}
# Fields a vault payment may carry; anything else (Paths, SendMax, DeliverMin…) is refused.
PAYMENT_FIELDS = {
    "TransactionType",
    "Account",
    "Destination",
    "DestinationTag",
    "Amount",
    "Fee",
    "Sequence",
    "LastLedgerSequence",
    "SigningPubKey",
    "Flags",
    "NetworkID",
}
SIGNER_LIST_FIELDS = {
    "TransactionType",
    "Account",
    "SignerQuorum",
    "SignerEntries",
    "Fee",
    "Sequence",
    "LastLedgerSequence",
    "SigningPubKey",
    "Flags",
    "NetworkID",
}
MAX_FEE_DROPS = 1_000_000  # 1 XRP: a vault transaction never needs more


class Refused(Exception):
    """A check failed: nothing is signed (exit 1)."""


class BadInput(Exception):
    """The input is not what this tool reads (exit 2)."""


# --- Keys ------------------------------------------------------------------------------------


def _write_private(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)


def load_wallet(path: Path) -> Wallet:
    try:
        mode = path.stat().st_mode
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read the key file {path}: {exc}") from exc
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise Refused(f"the key file {path} is readable by others; chmod 600 it")
    if not isinstance(raw, dict) or not isinstance(raw.get("seed"), str):
        raise BadInput("the key file has no seed")
    algorithm = CryptoAlgorithm(raw.get("algorithm", "ed25519"))
    return Wallet.from_seed(raw["seed"], algorithm=algorithm)


def cmd_keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists():
        raise BadInput(f"{out} exists; keygen never overwrites a key")
    algorithm = CryptoAlgorithm(args.algorithm)
    seed = generate_seed(algorithm=algorithm)
    wallet = Wallet.from_seed(seed, algorithm=algorithm)
    _write_private(
        out,
        json.dumps(
            {
                "seed": seed,
                "algorithm": algorithm.value,
                "public_key": wallet.public_key,
                "account": wallet.classic_address,
            },
            indent=2,
        )
        + "\n",
    )
    print(json.dumps({"public_key": wallet.public_key, "account": wallet.classic_address}))
    return 0


def proof_message(account: str, public_key: str) -> bytes:
    return PROOF_DOMAIN + account.encode() + b"\x00" + public_key.upper().encode()


def cmd_register(args: argparse.Namespace) -> int:
    wallet = load_wallet(Path(args.key))
    proof = keypairs_sign(
        proof_message(wallet.classic_address, wallet.public_key), wallet.private_key
    )
    print(
        json.dumps(
            {
                "format": REGISTRATION_FORMAT,
                "name": args.name,
                "account": wallet.classic_address,
                "public_key": wallet.public_key.upper(),
                "proof": proof.upper(),
            }
        )
    )
    return 0


# --- Requests --------------------------------------------------------------------------------


def load_request(path: Path) -> dict[str, Any]:
    try:
        request = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read the request {path}: {exc}") from exc
    if not isinstance(request, dict) or request.get("format") != REQUEST_FORMAT:
        raise BadInput(f"{path} is not a Dropgate vault signing request")
    for name in ("ref", "vault", "tx_blob", "blob_sha256"):
        if not isinstance(request.get(name), str) or not request[name]:
            raise BadInput(f"the request has no {name}")
    return request


def checked_transaction(request: dict[str, Any], expect_vault: str | None) -> dict[str, Any]:
    """The request's transaction, decoded from its blob, after every check (Refused else)."""
    try:
        blob = bytes.fromhex(request["tx_blob"])
    except ValueError as exc:
        raise BadInput("the blob is not hex") from exc
    if hashlib.sha256(blob).hexdigest() != request["blob_sha256"].lower():
        raise Refused("the blob does not match the request's digest")
    try:
        tx = decode(request["tx_blob"])
    except Exception as exc:
        raise Refused(f"the blob does not decode: {exc}") from exc
    if encode(tx).upper() != request["tx_blob"].upper():
        raise Refused("the blob is not in canonical form")
    kind = tx.get("TransactionType")
    if kind not in SIGNABLE_TYPES:
        raise Refused(f"refusing to sign a {kind}: only Payment and SignerListSet")
    allowed = PAYMENT_FIELDS if kind == "Payment" else SIGNER_LIST_FIELDS
    extra = sorted(set(tx) - allowed)
    if extra:
        raise Refused(f"the transaction carries fields a vault {kind} never has: {extra}")
    if tx.get("SigningPubKey") != "" or "TxnSignature" in tx or "Signers" in tx:
        raise Refused("the blob is not an unsigned multisign transaction")
    for name in ("Sequence", "Fee", "LastLedgerSequence"):
        if name not in tx:
            raise Refused(f"the transaction has no {name}: every field must be fixed")
    if tx["Account"] != request["vault"]:
        raise Refused("the transaction is not the request's vault's")
    if expect_vault and tx["Account"] != expect_vault:
        raise Refused(f"the transaction spends from {tx['Account']}, not {expect_vault}")
    if int(tx["Fee"]) > MAX_FEE_DROPS:
        raise Refused(f"the fee {tx['Fee']} drops is above {MAX_FEE_DROPS}")
    if kind == "Payment":
        if not isinstance(tx.get("Amount"), str):
            raise Refused("the payment is not in XRP")
        if int(tx.get("Flags", 0)) not in (0, 0x80000000):
            raise Refused("the payment sets flags")
    return tx


def describe(tx: dict[str, Any], request: dict[str, Any]) -> str:
    lines = [f"request      {request['ref']}", f"vault        {tx['Account']}"]
    if tx["TransactionType"] == "Payment":
        drops = int(tx["Amount"])
        lines += [
            "PAYMENT",
            f"  to         {tx['Destination']}"
            + (f" (tag {tx['DestinationTag']})" if "DestinationTag" in tx else ""),
            f"  amount     {drops} drops ({drops / 1_000_000:.6f} XRP)",
        ]
    else:
        lines += [f"SIGNER LIST  quorum {tx['SignerQuorum']} of:"]
        lines += [
            f"  {e['SignerEntry']['Account']} (weight {e['SignerEntry']['SignerWeight']})"
            for e in tx["SignerEntries"]
        ]
    lines += [
        f"fee          {tx['Fee']} drops",
        f"sequence     {tx['Sequence']}",
        f"valid until  ledger {tx['LastLedgerSequence']}",
        f"blob sha256  {request['blob_sha256']}",
    ]
    return "\n".join(lines)


def cmd_show(args: argparse.Namespace) -> int:
    request = load_request(Path(args.request))
    tx = checked_transaction(request, args.expect_vault)
    print(describe(tx, request))
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    request = load_request(Path(args.request))
    tx = checked_transaction(request, args.expect_vault)
    wallet = load_wallet(Path(args.key))
    signers = request.get("signers") or []
    if signers and wallet.classic_address not in signers:
        raise Refused(f"your account {wallet.classic_address} is not in the vault's SignerList")
    print(describe(tx, request), file=sys.stderr)
    if not args.yes:
        print("Sign this transaction? [y/N] ", end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise Refused("not signed")
    signed = sign(Transaction.from_xrpl(tx), wallet, multisign=True)
    signed_json = signed.to_xrpl()
    # The bytes xrpl-py signed must be the blob's: nothing added, dropped or changed.
    unsigned_again = {k: v for k, v in signed_json.items() if k != "Signers"}
    if encode(unsigned_again).upper() != request["tx_blob"].upper():
        raise Refused("xrpl-py would sign different bytes than the blob's; nothing signed")
    signer = signed_json["Signers"][0]["Signer"]
    document = {
        "format": SIGNATURE_FORMAT,
        "ref": request["ref"],
        "blob_sha256": request["blob_sha256"].lower(),
        "account": signer["Account"],
        "signing_pub_key": signer["SigningPubKey"],
        "txn_signature": signer["TxnSignature"],
    }
    out = Path(args.out)
    if out.exists():
        raise BadInput(f"{out} exists")
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"signed: {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dropgate_approver", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    keygen = sub.add_parser("keygen", help="make a new approver key (file mode 600)")
    keygen.add_argument("--out", required=True)
    keygen.add_argument("--algorithm", choices=("ed25519", "secp256k1"), default="ed25519")
    keygen.set_defaults(run=cmd_keygen)
    register = sub.add_parser("register", help="print the registration (public key + proof)")
    register.add_argument("--key", required=True)
    register.add_argument("--name", required=True)
    register.set_defaults(run=cmd_register)
    show = sub.add_parser("show", help="check and show a signing request")
    show.add_argument("request")
    show.add_argument("--expect-vault")
    show.set_defaults(run=cmd_show)
    sign_cmd = sub.add_parser("sign", help="check, show and sign a signing request")
    sign_cmd.add_argument("request")
    sign_cmd.add_argument("--key", required=True)
    sign_cmd.add_argument("--out", required=True)
    sign_cmd.add_argument("--expect-vault")
    sign_cmd.add_argument("--yes", action="store_true", help="do not ask before signing")
    sign_cmd.set_defaults(run=cmd_sign)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except Refused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
