"""HD derivation (BIP39 seed, BIP32/BIP44 secp256k1 paths) with bip-utils. No Django, no DB.

XRPL's BIP44 coin type is 144: `m/44'/144'/account'/0/n`. The platform gives each purpose its
own hardened account (see `PURPOSE_ACCOUNTS` in services), so a leaked child key and a
leaked extended public key of one purpose can never be combined into another purpose's keys.
Derivation happens in memory, outside any HSM: an HSM keeps only the sealed seed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from bip_utils import (
    Bip32PathParser,
    Bip32Slip10Secp256k1,
    Bip39Languages,
    Bip39MnemonicDecoder,
    Bip39MnemonicGenerator,
    Bip39MnemonicValidator,
    Bip39SeedGenerator,
)
from xrpl.core.keypairs import derive_classic_address

XRPL_COIN_TYPE = 144
_HARDENED = 0x80000000


class HdError(ValueError):
    """Bad derivation input. The message names the problem, never the words."""


@dataclass(frozen=True)
class DerivedKey:
    path: str
    public_key: str  # compressed secp256k1, hex upper case
    address: str
    private_key: bytes = field(repr=False)


def normalise_mnemonic(text: str) -> str:
    """Lower case, single spaces: surrounding and repeated whitespace is ignored."""
    return " ".join(text.split()).lower()


def validate_mnemonic(mnemonic: str) -> str:
    words = normalise_mnemonic(mnemonic)
    if not words:
        raise HdError("the mnemonic is empty")
    if len(words.split()) not in (12, 15, 18, 21, 24):
        raise HdError("a BIP39 mnemonic has 12, 15, 18, 21 or 24 words")
    try:
        valid = Bip39MnemonicValidator(Bip39Languages.ENGLISH).IsValid(words)
    except Exception:
        valid = False
    if not valid:
        raise HdError("the mnemonic is not valid BIP39 (unknown word or bad checksum)")
    return words


def validate_path(path: str) -> str:
    """A BIP32 path `m/…` of at most 10 levels, each index below 2^31 (`'` = hardened)."""
    text = path.strip()
    parts = text.split("/")
    if parts[0] != "m":
        raise HdError("the path must start with m/")
    if len(parts) > 11:
        raise HdError("the path is too deep")
    for part in parts[1:]:
        digits = part[:-1] if part.endswith(("'", "h", "H")) else part
        if not digits.isdigit() or not digits.isascii() or int(digits) >= _HARDENED:
            raise HdError("the path is not a BIP32 path like m/44'/144'/0'/0/0")
    try:
        Bip32PathParser.Parse(text)
    except Exception as exc:
        raise HdError("the path is not a BIP32 path like m/44'/144'/0'/0/0") from exc
    return text


def mnemonic_to_seed(mnemonic: str, passphrase: str = "") -> bytes:
    return bytes(Bip39SeedGenerator(validate_mnemonic(mnemonic)).Generate(passphrase))


def entropy_to_mnemonic(entropy: bytes) -> str:
    return str(Bip39MnemonicGenerator(Bip39Languages.ENGLISH).FromEntropy(entropy))


def mnemonic_to_entropy(mnemonic: str) -> bytes:
    return bytes(Bip39MnemonicDecoder(Bip39Languages.ENGLISH).Decode(validate_mnemonic(mnemonic)))


def new_entropy() -> bytes:
    """256 bits for a 24-word mnemonic, from the OS CSPRNG."""
    return os.urandom(32)


def derive(seed: bytes, path: str) -> DerivedKey:
    """The secp256k1 key at `path` under the BIP39 `seed`."""
    text = validate_path(path)
    node = Bip32Slip10Secp256k1.FromSeed(seed).DerivePath(text)
    public_key = node.PublicKey().RawCompressed().ToHex().upper()
    return DerivedKey(
        path=text,
        public_key=public_key,
        address=derive_classic_address(public_key),
        private_key=bytes(node.PrivateKey().Raw().ToBytes()),
    )


def derive_from_mnemonic(mnemonic: str, path: str, passphrase: str = "") -> DerivedKey:
    validate_path(path)
    return derive(mnemonic_to_seed(mnemonic, passphrase), path)


def xrpl_path(account: int, index: int) -> str:
    """`m/44'/144'/account'/0/index`."""
    if not 0 <= account < _HARDENED or not 0 <= index < _HARDENED:
        raise HdError("account and index must be below 2^31")
    return f"m/44'/{XRPL_COIN_TYPE}'/{account}'/0/{index}"
