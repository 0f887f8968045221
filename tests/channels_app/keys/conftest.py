"""Fixtures of the key-management suite: a SoftHSM2 token in a temp dir, and a funded platform
on the sandbox ledger.

The token is made once per session (`softhsm2-util --init-token --free`) with SOFTHSM2_CONF
pointing to a temporary softhsm2.conf, so the machine's own token store is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from channels_app.keys.keystore import Pkcs11Keystore, pkcs11_reset

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN_LABEL = "dropgate-test"
USER_PIN = "246810"
SO_PIN = "13579111"


@dataclass(frozen=True)
class SoftHsmToken:
    module: str
    label: str
    pin: str
    conf: Path


@pytest.fixture(scope="session")
def softhsm_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsmToken]:
    if shutil.which("softhsm2-util") is None or not Path(SOFTHSM_MODULE).exists():
        pytest.fail("SoftHSM2 is not installed: `apt-get install softhsm2` (make system-deps)")
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\n"
        "objectstore.backend = file\n"
        "log.level = ERROR\n"
        "slots.removable = false\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            TOKEN_LABEL,
            "--pin",
            USER_PIN,
            "--so-pin",
            SO_PIN,
        ],
        check=True,
        capture_output=True,
    )
    pkcs11_reset()  # the module reads SOFTHSM2_CONF when it is initialised
    try:
        yield SoftHsmToken(SOFTHSM_MODULE, TOKEN_LABEL, USER_PIN, conf)
    finally:
        pkcs11_reset()
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def hsm(settings, softhsm_token: SoftHsmToken) -> Pkcs11Keystore:
    """Switch the keystore setting to the SoftHSM2 token; returns that keystore."""
    settings.DROPGATE_KEYSTORE = "pkcs11"
    settings.DROPGATE_PKCS11_MODULE = softhsm_token.module
    settings.DROPGATE_PKCS11_TOKEN_LABEL = softhsm_token.label
    settings.DROPGATE_PKCS11_PIN = softhsm_token.pin
    return Pkcs11Keystore(
        module=softhsm_token.module, token_label=softhsm_token.label, pin=softhsm_token.pin
    )


@pytest.fixture
def platform(settings, sandbox_url: str, db) -> str:
    """A funded, journaled settlement account on the sandbox (not hardened yet)."""
    from channels_app.services.platform import platform_bootstrap

    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS = 60
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12
    settings.DROPGATE_KEY_LEDGER_WAIT_SECONDS = 15
    return str(platform_bootstrap()["address"])
