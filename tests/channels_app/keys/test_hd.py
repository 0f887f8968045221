"""HD derivation: the public xrpl.js vector, the keys_derive contract command, and the
platform's per-purpose and per-publisher keys from its sealed seed."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from channels_app.keys import hd
from channels_app.keys import services as keys
from channels_app.models import KeyRecord
from channels_app.signatures import verify_signature

VECTOR = "assault rare scout seed design extend noble drink talk control guitar quote"
VECTOR_ADDRESS = "rJUr92pXcNtH6PtFfbRhHCo469XmPrbTJU"
PATH = "m/44'/144'/0'/0/0"


def _derive(tmp_path, text: str, *args: str) -> dict:
    words = tmp_path / "words.txt"
    words.write_text(text)
    out = io.StringIO()
    call_command("keys_derive", "--mnemonic-file", str(words), *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_xrpljs_vector() -> None:
    key = hd.derive_from_mnemonic(VECTOR, PATH)
    assert key.address == VECTOR_ADDRESS
    assert key.public_key == "035953FCD81D001CF634EB44A87940F3F98ADF2483D09C914BAED0539BE50F385D"
    assert "private_key" not in repr(key)


# No `db` fixture in these: pytest-django fails any test that touches the database.
def test_keys_derive_prints_address_and_public_key(tmp_path) -> None:
    result = _derive(tmp_path, f"\n  {VECTOR}  \n\n", "--path", PATH)
    assert result == {
        "address": VECTOR_ADDRESS,
        "public_key": "035953FCD81D001CF634EB44A87940F3F98ADF2483D09C914BAED0539BE50F385D",
    }


def test_keys_derive_other_paths_differ(tmp_path) -> None:
    one = _derive(tmp_path, VECTOR, "--path", "m/44'/144'/0'/0/1")
    assert one["address"] != VECTOR_ADDRESS
    assert one["address"] == hd.derive_from_mnemonic(VECTOR, "m/44'/144'/0'/0/1").address


@pytest.mark.parametrize(
    ("text", "path", "reason"),
    [
        (VECTOR.replace("quote", "guitar"), PATH, "checksum"),
        (VECTOR.replace("quote", "quotex"), PATH, "unknown word"),
        ("assault rare scout", PATH, "12, 15, 18, 21 or 24 words"),
        ("", PATH, "empty"),
        (VECTOR, "44'/144'/0'/0/0", "start with m/"),
        (VECTOR, "m/44'/144'/x/0/0", "not a BIP32 path"),
        (VECTOR, "m/44'/144'/0'/0/2147483648", "not a BIP32 path"),
    ],
)
def test_keys_derive_refuses_bad_input_with_exit_2(tmp_path, capsys, text, path, reason) -> None:
    words = tmp_path / "words.txt"
    words.write_text(text)
    with pytest.raises(SystemExit) as caught:
        call_command("keys_derive", "--mnemonic-file", str(words), "--path", path)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and reason in err
    assert "assault" not in err  # the words are never echoed


def test_keys_derive_missing_file(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        call_command("keys_derive", "--mnemonic-file", str(tmp_path / "none.txt"), "--path", PATH)
    assert caught.value.code == 2
    assert "cannot read" in capsys.readouterr().err


def test_keys_derive_from_the_command_line(tmp_path) -> None:
    words = tmp_path / "words.txt"
    words.write_text(VECTOR + "\n")
    ok = subprocess.run(
        [sys.executable, "manage.py", "keys_derive", "--mnemonic-file", str(words), "--path", PATH],
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
        # A database URL nobody can reach: the command must not need it.
        env={**__import__("os").environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"},
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["address"] == VECTOR_ADDRESS
    bad = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "keys_derive",
            "--mnemonic-file",
            str(words),
            "--path",
            "m/q",
        ],
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


@pytest.mark.django_db
def test_platform_keys_derive_from_the_sealed_seed_one_account_per_purpose() -> None:
    signers = keys.payout_signer_addresses()
    refund = keys.refund_address()
    records = {
        (r.purpose, r.slot): r
        for r in KeyRecord.objects.filter(purpose__in=["payout_signer", "refund"])
    }
    assert [records[("payout_signer", i)].derivation_path for i in range(3)] == [
        "m/44'/144'/2'/0/0",
        "m/44'/144'/3'/0/0",
        "m/44'/144'/4'/0/0",
    ]
    assert records[("refund", 0)].derivation_path == "m/44'/144'/5'/0/0"
    assert len(set(signers) | {refund}) == 4
    seed = keys._hd_seed()
    for record in records.values():
        assert hd.derive(seed, record.derivation_path).public_key == record.public_key
        assert bytes(record.sealed) == b""
    master = KeyRecord.objects.get(purpose="hd_master")
    assert master.keystore == "software" and len(bytes(master.sealed)) == 12 + 32 + 16


@pytest.mark.django_db
def test_publisher_keys_are_per_publisher_and_sign(hsm) -> None:
    one = keys.publisher_key_ensure(publisher_ref="pub_a", index=7)
    again = keys.publisher_key_ensure(publisher_ref="pub_a", index=7)
    other = keys.publisher_key_ensure(publisher_ref="pub_b", index=8)
    assert one == again and one.address != other.address
    assert one.derivation_path == "m/44'/144'/100'/0/7" and one.keystore == "hd"
    with pytest.raises(ValueError):
        keys.publisher_key_ensure(publisher_ref="pub_b", index=7)
    # With the HSM keystore the seed is sealed by the token's AES key, not the software KEK.
    assert KeyRecord.objects.get(purpose="hd_master").keystore == "pkcs11"
    signature = keys.publisher_sign(publisher_ref="pub_a", index=7, message=b"statement")
    verify_signature(
        message=b"statement",
        signature=bytes.fromhex(signature),
        public_key=bytes.fromhex(one.public_key),
    )
