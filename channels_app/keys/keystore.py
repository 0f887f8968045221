"""Keystores seal and unseal key material. The software keystore is the embedded default.

Secrets are sealed with AES-256-GCM under a key-encryption key derived (HKDF-SHA256) from
settings.DROPGATE_KEK. The record's purpose and key id are bound in as associated data, so a
sealed secret copied onto another row does not open.
"""

from __future__ import annotations

import os
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_NONCE_BYTES = 12


class Keystore(Protocol):
    def seal(self, secret: bytes, *, aad: bytes) -> bytes: ...

    def unseal(self, sealed: bytes, *, aad: bytes) -> bytes: ...


class SoftwareKeystore:
    def __init__(self, kek_material: str) -> None:
        self._aead = AESGCM(
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"dropgate-kek-v1").derive(
                kek_material.encode()
            )
        )

    def __repr__(self) -> str:
        return "<SoftwareKeystore>"

    def seal(self, secret: bytes, *, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret, aad)

    def unseal(self, sealed: bytes, *, aad: bytes) -> bytes:
        return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], aad)


def default_keystore() -> Keystore:
    return SoftwareKeystore(settings.DROPGATE_KEK)
