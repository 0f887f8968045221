"""`manage.py verify_claim` as outside tests drive it: a subprocess, stdout and the exit code.

Exit 0 `valid`, exit 1 `invalid: <reason>`, exit 2 `malformed: <reason>` (DESIGN.md,
"Claim check"). No test here uses the database, and the command must not either.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import utils
from xrpl.constants import CryptoAlgorithm
from xrpl.core import keypairs
from xrpl.core.binarycodec import encode_for_signing_claim

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv" / "bin" / "python"

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP_P = 2**256 - 2**32 - 977
L = 2**252 + 27742317777372353535851937790883648493

CHANNEL = "5DB01B7FFED6B67E6B0414DED11E051D2EE2B7619CE0EAA6286D67A3A4D5BDB3"
KEY = "023693F15967AE357D0327974AD46FE3C127113B1110D6044FD41E723689F81CC6"
SIGNATURE = (
    "304402204EF0AFB78AC23ED1C472E74F4299C0C21F1B21D07EFC0A3838A420F76D783A40"
    "0220154FB11B6F54320666E4C36CA7F686C16A3A0456800BBC43746F34AF50290064"
)
GOOD = {"channel": CHANNEL, "amount": "1000000", "signature": SIGNATURE, "public_key": KEY}


def run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    python = PYTHON if PYTHON.exists() else Path(sys.executable)
    done = subprocess.run(
        [str(python), "manage.py", "verify_claim", *argv],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    return done.returncode, done.stdout


def check(
    *, channel: str, amount: str, signature: str, public_key: str, env: dict[str, str] | None = None
) -> tuple[int, str]:
    return run(
        "--channel", channel,
        "--amount", amount,
        "--signature", signature,
        "--public-key", public_key,
        env=env,
    )  # fmt: skip


def signed_claim(algorithm: CryptoAlgorithm, amount: int) -> dict[str, str]:
    seed = keypairs.generate_seed(entropy="5a" * 16, algorithm=algorithm)
    public, private = keypairs.derive_keypair(seed)
    message = encode_for_signing_claim({"channel": CHANNEL, "amount": str(amount)})
    return {
        "channel": CHANNEL,
        "amount": str(amount),
        "signature": keypairs.sign(bytes.fromhex(message), private),
        "public_key": public,
    }


# --- exit 0 ----------------------------------------------------------------------------------


def test_public_vector_is_valid():
    assert check(**GOOD) == (0, "valid\n")


def test_lower_case_hex_is_valid():
    lower = {field: value.lower() for field, value in GOOD.items()}
    assert check(**lower) == (0, "valid\n")


@pytest.mark.parametrize("algorithm", [CryptoAlgorithm.ED25519, CryptoAlgorithm.SECP256K1])
def test_generated_claims_are_valid(algorithm):
    assert check(**signed_claim(algorithm, 2**64 - 1)) == (0, "valid\n")


def test_valid_without_touching_the_database(tmp_path):
    # A database URL that cannot be opened: any connection attempt would fail the command.
    env = {
        **os.environ,
        "DROPGATE_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}",
    }
    assert check(**GOOD, env=env) == (0, "valid\n")
    assert not list(tmp_path.rglob("*.sqlite3"))


# --- exit 1 ----------------------------------------------------------------------------------


def _high_s(signature: str) -> str:
    r, s = utils.decode_dss_signature(bytes.fromhex(signature))
    return utils.encode_dss_signature(r, N - s).hex()


def _ed25519_s_plus_l(signature: str) -> str:
    raw = bytes.fromhex(signature)
    s = int.from_bytes(raw[32:], "little")
    return (raw[:32] + (s + L).to_bytes(32, "little")).hex()


def _off_curve_key() -> str:
    x = next(x for x in range(1, 100) if pow((x**3 + 7) % SECP_P, (SECP_P - 1) // 2, SECP_P) != 1)
    return "02" + x.to_bytes(32, "big").hex()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amount": "1000001"}, "signature mismatch"),
        ({"channel": CHANNEL[:-1] + "4"}, "signature mismatch"),
        ({"signature": _high_s(SIGNATURE)}, "non-canonical signature (high S)"),
        ({"signature": SIGNATURE + "00"}, "bad DER"),
        ({"signature": "3045022100" + SIGNATURE[8:]}, "bad DER"),  # needless zero pad on R
        ({"public_key": _off_curve_key()}, "point not on curve"),
    ],
)
def test_secp256k1_rejections_exit_1(changes, reason):
    assert check(**{**GOOD, **changes}) == (1, f"invalid: {reason}\n")


def test_ed25519_rejections_exit_1():
    claim = signed_claim(CryptoAlgorithm.ED25519, 500)
    malleated = {**claim, "signature": _ed25519_s_plus_l(claim["signature"])}
    assert check(**malleated) == (1, "invalid: S >= L\n")
    assert check(**{**claim, "amount": "501"}) == (1, "invalid: signature mismatch\n")
    undecodable = {**claim, "public_key": "ED" + (2).to_bytes(32, "little").hex()}
    assert check(**undecodable) == (1, "invalid: point not on curve\n")


# --- exit 2 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": CHANNEL[:-1]}, "channel"),
        ({"channel": CHANNEL[:-1] + "G"}, "channel"),
        ({"amount": "0"}, "amount"),
        ({"amount": str(2**64)}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "+5"}, "amount"),
        ({"amount": "1.5"}, "amount"),
        ({"amount": " 5"}, "amount"),
        ({"signature": "30zz"}, "signature"),
        ({"signature": SIGNATURE[:-1]}, "signature"),
        ({"signature": ""}, "signature"),
        ({"public_key": "04" + KEY[2:]}, "public key"),
        ({"public_key": KEY[:-2]}, "public key"),
        ({"public_key": "ED" + KEY[2:-2] + "XY"}, "public key"),
    ],
)
def test_malformed_input_exits_2(changes, field):
    code, out = check(**{**GOOD, **changes})
    assert code == 2
    assert out.startswith(f"malformed: {field} ")
    assert out.count("\n") == 1


def test_amount_that_looks_like_an_option_is_malformed():
    assert run(
        "--channel", CHANNEL, "--amount=-1", "--signature", SIGNATURE, "--public-key", KEY
    )[0] == 2  # fmt: skip


def test_missing_option_is_malformed():
    code, out = run("--channel", CHANNEL, "--amount", "1000000", "--signature", SIGNATURE)
    assert code == 2
    assert out.startswith("malformed: ")
    assert "--public-key" in out


def test_unknown_option_is_malformed():
    code, out = run(
        "--channel", CHANNEL, "--amount", "1", "--signature", SIGNATURE, "--public-key", KEY,
        "--colour", "red",
    )  # fmt: skip
    assert code == 2
    assert out.startswith("malformed: ")
