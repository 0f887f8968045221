"""Keystore signing throughput: XRPL signatures per second, software and PKCS#11, one thread.

    .venv/bin/python benchmarks/keys.py [--seconds 2]

prints one JSON object. Each case signs distinct 32..200-byte messages (a transaction's signing
bytes are in that range) for `--seconds` through the keystore's own `sign`, the call the key
service makes, so the software numbers include unsealing the key (AES-GCM) and the PKCS#11
numbers include the round trip into the token:

- `software.<alg>_per_s`: SoftwareKeystore (Ed25519 in OpenSSL, secp256k1 in libsecp256k1).
- `pkcs11.<alg>_per_s`: SoftHSM2 through python-pkcs11, on a token made in a temp dir
  (CKM_EDDSA; CKM_ECDSA over SHA-512Half, then low-S and DER in Python).
- `hd_secp256k1_per_s`: the software HD path of a ledger key: BIP39 seed (PBKDF2, 2048
  rounds) and BIP32 derivation for every signature, as `settlement_sign` does in the
  software keystore.

Every signature of a sample is checked with the strict verifier (`all_valid`). Needs the
Debian `softhsm2` package; without it the pkcs11 section says so. No database, no Django setup.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from channels_app.keys import hd  # noqa: E402
from channels_app.keys.crypto import Algorithm, software_sign  # noqa: E402
from channels_app.keys.keystore import (  # noqa: E402
    Keystore,
    Pkcs11Keystore,
    SoftwareKeystore,
    pkcs11_reset,
)
from channels_app.signatures import is_valid_signature  # noqa: E402

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
AAD = b"bench:key"


def _messages(count: int = 256) -> list[bytes]:
    return [secrets.token_bytes(32 + (n * 7) % 169) for n in range(count)]


def _rate(sign: Callable[[bytes], bytes], seconds: float) -> float:
    messages = _messages()
    for message in messages[:8]:  # warm up (session, caches)
        sign(message)
    count, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for message in messages[:32]:
            sign(message)
        count += 32
    return count / (time.perf_counter() - started)


def _keystore_case(store: Keystore, algorithm: Algorithm, seconds: float) -> dict[str, object]:
    key_id = secrets.token_hex(8)
    made = store.generate(key_id=key_id, algorithm=algorithm, aad=AAD)

    def sign(message: bytes) -> bytes:
        return store.sign(
            key_id=key_id, algorithm=algorithm, sealed=made.sealed, aad=AAD, message=message
        )

    rate = _rate(sign, seconds)
    public = bytes.fromhex(made.public_key)
    valid = all(
        is_valid_signature(message=m, signature=sign(m), public_key=public) for m in _messages(64)
    )
    store.destroy(key_id=key_id)
    return {"per_s": round(rate, 1), "all_valid": valid}


def _softhsm_token(base: Path) -> tuple[str, str] | None:
    if shutil.which("softhsm2-util") is None or not Path(SOFTHSM_MODULE).exists():
        return None
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    label, pin = "dropgate-bench", "123456"
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            label,
            "--pin",
            pin,
            "--so-pin",
            "654321",
        ],
        check=True,
        capture_output=True,
    )
    return label, pin


def _hd_case(seconds: float) -> dict[str, object]:
    mnemonic = hd.entropy_to_mnemonic(hd.new_entropy())
    path = hd.xrpl_path(1, 0)

    def sign(message: bytes) -> bytes:
        key = hd.derive(hd.mnemonic_to_seed(mnemonic), path)
        return software_sign(key.private_key, Algorithm.SECP256K1, message)

    rate = _rate(sign, seconds)
    public = bytes.fromhex(hd.derive(hd.mnemonic_to_seed(mnemonic), path).public_key)
    valid = all(
        is_valid_signature(message=m, signature=sign(m), public_key=public) for m in _messages(16)
    )
    return {"per_s": round(rate, 1), "all_valid": valid}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per case")
    args = parser.parse_args()

    result: dict[str, object] = {
        "benchmark": "keystore_signatures",
        "seconds_per_case": args.seconds,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "python_pkcs11": version("python-pkcs11"),
        "bip_utils": version("bip-utils"),
    }
    software = SoftwareKeystore(secrets.token_urlsafe(32))
    section: dict[str, object] = {}
    for algorithm in Algorithm:
        print(f"software {algorithm.value}…", file=sys.stderr)
        section[algorithm.value] = _keystore_case(software, algorithm, args.seconds)
    result["software"] = section

    with tempfile.TemporaryDirectory(prefix="dropgate-softhsm-") as tmp:
        token = _softhsm_token(Path(tmp))
        if token is None:
            result["pkcs11"] = {"skipped": "softhsm2 is not installed (apt-get install softhsm2)"}
        else:
            pkcs11_reset()
            hsm = Pkcs11Keystore(module=SOFTHSM_MODULE, token_label=token[0], pin=token[1])
            section = {"module": SOFTHSM_MODULE}
            for algorithm in Algorithm:
                print(f"pkcs11 {algorithm.value}…", file=sys.stderr)
                section[algorithm.value] = _keystore_case(hsm, algorithm, args.seconds)
            result["pkcs11"] = section
            pkcs11_reset()

    print("hd secp256k1…", file=sys.stderr)
    result["hd_secp256k1_derive_and_sign"] = _hd_case(args.seconds)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
