"""Helpers for the offline-approver tests: the approvers' CLI run as a subprocess, each
approver's key in its own directory the server never reads."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from channels_app.payouts.models import VaultApprover
from channels_app.payouts.services.approvers import (
    signing_request,
    vault_approver_register,
    vault_signature_submit,
)
from channels_app.payouts.types import SignatureOutcome

REPO_ROOT = Path(__file__).resolve().parents[3]
CLI = REPO_ROOT / "clients" / "approver" / "dropgate_approver.py"


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the approvers' CLI as an approver would, on its own (no Django, no database)."""
    done = subprocess.run(
        [sys.executable, str(CLI), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin"},
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


@dataclass
class Approver:
    """One approver's offline desk: a directory with their key file."""

    name: str
    home: Path
    account: str
    public_key: str
    registration: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> Path:
        return self.home / "key.json"

    def row(self) -> VaultApprover:
        return VaultApprover.objects.get(account=self.account)

    def sign(self, request_file: Path, *, check: bool = True) -> Path:
        out = self.home / f"signature-{request_file.stem}.json"
        out.unlink(missing_ok=True)
        done = cli(
            "sign",
            str(request_file),
            "--key",
            str(self.key),
            "--out",
            str(out),
            "--yes",
            check=check,
        )
        return out if done.returncode == 0 else Path("")


def make_desk(root: Path, name: str) -> Approver:
    """An approver's key made with the CLI (`keygen`), and their registration (`register`)."""
    home = root / name
    home.mkdir()
    made = json.loads(cli("keygen", "--out", str(home / "key.json")).stdout)
    approver = Approver(name, home, made["account"], made["public_key"])
    approver.registration = json.loads(
        cli("register", "--key", str(approver.key), "--name", name).stdout
    )
    return approver


def register(approver: Approver) -> Approver:
    """Register the approver's public key and proof, as the admin or the command does."""
    vault_approver_register(
        name=approver.registration["name"],
        public_key=approver.registration["public_key"],
        proof=approver.registration["proof"],
        by="test",
    )
    return approver


def export(ref: str, directory: Path) -> Path:
    """The signing request's file, as the admin page or vault_request_export hands it out."""
    path = directory / f"{ref}.json"
    path.write_text(json.dumps(signing_request(ref).document()))
    return path


def upload(signature_file: Path, **kwargs: Any) -> SignatureOutcome:
    return vault_signature_submit(
        document=json.loads(signature_file.read_text()), by="test", **kwargs
    )
