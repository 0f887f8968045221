"""Keystores: where platform private keys live, and the only code that uses them to sign.

Two backends, chosen by `settings.DROPGATE_KEYSTORE`:

- **software** (the embedded default). A key is 32 random bytes sealed with AES-256-GCM under
  a key-encryption key derived (HKDF-SHA256) from `settings.DROPGATE_KEK`; the sealed bytes
  are stored on the key's row. The row's purpose and key id are bound in as associated
  data, so a sealed secret copied onto another row does not open.
- **pkcs11** (an HSM; SoftHSM2 in CI). A key is generated inside the token, private,
  sensitive and non-extractable, and found again by its CKA_ID (the key id). Signing is
  CKM_EDDSA for Ed25519 and plain CKM_ECDSA over SHA-512Half for secp256k1, the raw `r || s`
  normalised to low S and DER-encoded. Sealing (for the HD master seed) is AES-256-GCM
  *inside* the token, under an AES key that never leaves it.

Both return the same XRPL signature bytes for the same key type, so a transaction validates
on the ledger whichever keystore signed it. Nothing here logs, returns or formats a secret.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from coincurve import PrivateKey as Secp256k1PrivateKey
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from channels_app.keys.crypto import (
    Algorithm,
    ec_point_to_xrpl_public_key,
    ecdsa_to_xrpl_der,
    software_public_key,
    software_sign,
)
from channels_app.keys.exceptions import KeystoreUnavailable
from channels_app.signatures import sha512_half

_NONCE_BYTES = 12
_SEAL_KEY_LABEL = "dropgate-seal-v1"
# Named-curve OIDs for CKA_EC_PARAMS: id-Ed25519 (RFC 8410) and secp256k1 (SEC 2).
_CURVE_OIDS = {Algorithm.ED25519: "1.3.101.112", Algorithm.SECP256K1: "1.3.132.0.10"}


@dataclass(frozen=True)
class GeneratedKey:
    """A new key: its XRPL public key (hex) and what the row must keep to use it again."""

    public_key: str
    sealed: bytes  # the sealed secret (software); empty when the keystore keeps the key


class Keystore(Protocol):
    name: str

    def seal(self, secret: bytes, *, aad: bytes) -> bytes: ...

    def unseal(self, sealed: bytes, *, aad: bytes) -> bytes: ...

    def generate(self, *, key_id: str, algorithm: Algorithm, aad: bytes) -> GeneratedKey: ...

    def sign(
        self, *, key_id: str, algorithm: Algorithm, sealed: bytes, aad: bytes, message: bytes
    ) -> bytes: ...

    def destroy(self, *, key_id: str) -> None: ...


class SoftwareKeystore:
    name = "software"

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

    def generate(self, *, key_id: str, algorithm: Algorithm, aad: bytes) -> GeneratedKey:
        if algorithm is Algorithm.ED25519:
            secret = os.urandom(32)
        else:
            secret = Secp256k1PrivateKey().secret  # uniform in [1, n)
        return GeneratedKey(software_public_key(secret, algorithm), self.seal(secret, aad=aad))

    def sign(
        self, *, key_id: str, algorithm: Algorithm, sealed: bytes, aad: bytes, message: bytes
    ) -> bytes:
        return software_sign(self.unseal(sealed, aad=aad), algorithm, message)

    def destroy(self, *, key_id: str) -> None:
        """Nothing to do here: the caller erases the sealed bytes on the row."""


class _Pkcs11Handle:
    """One logged-in session per (module, token) per process, re-opened after a fork."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.libs: dict[str, Any] = {}
        self.sessions: dict[tuple[str, str], Any] = {}
        self.pid = os.getpid()

    def reset(self) -> None:
        with self.lock:
            for session in self.sessions.values():
                try:
                    session.close()
                except Exception:  # noqa: S110 - closing a dead session is best effort
                    pass
            self.sessions.clear()
            for lib in self.libs.values():
                try:
                    lib.finalize()
                except Exception:  # noqa: S110
                    pass
            self.libs.clear()
            self.pid = os.getpid()

    def session(self, module: str, token_label: str, pin: str) -> Any:
        import pkcs11

        with self.lock:
            if self.pid != os.getpid():
                # A forked child (a Celery prefork worker) inherits handles it must not use.
                self.sessions.clear()
                for lib in self.libs.values():
                    lib.reinitialize()
                self.pid = os.getpid()
            key = (module, token_label)
            session = self.sessions.get(key)
            if session is None:
                lib = self.libs.get(module)
                if lib is None:
                    lib = self.libs[module] = pkcs11.lib(module)
                token = lib.get_token(token_label=token_label)
                try:
                    session = token.open(rw=True, user_pin=pin)
                except pkcs11.exceptions.UserAlreadyLoggedIn:
                    session = token.open(rw=True)
                self.sessions[key] = session
            return session


_pkcs11 = _Pkcs11Handle()


def pkcs11_reset() -> None:
    """Close every PKCS#11 session and finalize the modules (tests; a token re-initialised)."""
    _pkcs11.reset()


class Pkcs11Keystore:
    name = "pkcs11"

    def __init__(self, *, module: str, token_label: str, pin: str) -> None:
        self._module = module
        self._token_label = token_label
        self._pin = pin

    def __repr__(self) -> str:
        return f"<Pkcs11Keystore token={self._token_label!r}>"

    def _call(self, operation: Any) -> Any:
        import pkcs11

        try:
            with _pkcs11.lock:
                session = _pkcs11.session(self._module, self._token_label, self._pin)
                return operation(session)
        except (pkcs11.exceptions.PKCS11Error, OSError, RuntimeError) as exc:
            # The library's messages name objects and mechanisms, never key bytes.
            raise KeystoreUnavailable(
                f"The HSM could not complete the operation ({type(exc).__name__})."
            ) from exc

    def _private_key(self, session: Any, key_id: str) -> Any:
        from pkcs11 import ObjectClass

        return session.get_key(object_class=ObjectClass.PRIVATE_KEY, id=key_id.encode())

    def generate(self, *, key_id: str, algorithm: Algorithm, aad: bytes) -> GeneratedKey:
        from pkcs11 import Attribute, KeyType
        from pkcs11.util.ec import encode_named_curve_parameters

        def run(session: Any) -> GeneratedKey:
            key_type = KeyType.EC_EDWARDS if algorithm is Algorithm.ED25519 else KeyType.EC
            params = session.create_domain_parameters(
                key_type,
                {Attribute.EC_PARAMS: encode_named_curve_parameters(_CURVE_OIDS[algorithm])},
                local=True,
            )
            public, _private = params.generate_keypair(
                store=True,
                id=key_id.encode(),
                label=f"dropgate:{key_id}",
                public_template={Attribute.TOKEN: True, Attribute.VERIFY: True},
                private_template={
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                },
            )
            point = bytes(public[Attribute.EC_POINT])
            return GeneratedKey(ec_point_to_xrpl_public_key(point, algorithm), b"")

        result: GeneratedKey = self._call(run)
        return result

    def sign(
        self, *, key_id: str, algorithm: Algorithm, sealed: bytes, aad: bytes, message: bytes
    ) -> bytes:
        from pkcs11 import Mechanism

        def run(session: Any) -> bytes:
            private = self._private_key(session, key_id)
            if algorithm is Algorithm.ED25519:
                return bytes(private.sign(message, mechanism=Mechanism.EDDSA))
            raw = bytes(private.sign(sha512_half(message), mechanism=Mechanism.ECDSA))
            return ecdsa_to_xrpl_der(raw)

        result: bytes = self._call(run)
        return result

    def destroy(self, *, key_id: str) -> None:
        from pkcs11 import Attribute

        def run(session: Any) -> None:
            for obj in list(session.get_objects({Attribute.ID: key_id.encode()})):
                obj.destroy()

        self._call(run)

    def key_attributes(self, *, key_id: str) -> dict[str, bool]:
        """The private key's protection flags, as the token reports them (for checks and tests)."""
        from pkcs11 import Attribute

        def run(session: Any) -> dict[str, bool]:
            private = self._private_key(session, key_id)
            return {
                "sensitive": bool(private[Attribute.SENSITIVE]),
                "extractable": bool(private[Attribute.EXTRACTABLE]),
                "always_sensitive": bool(private[Attribute.ALWAYS_SENSITIVE]),
                "never_extractable": bool(private[Attribute.NEVER_EXTRACTABLE]),
                "local": bool(private[Attribute.LOCAL]),
            }

        result: dict[str, bool] = self._call(run)
        return result

    def _seal_key(self, session: Any) -> Any:
        import pkcs11
        from pkcs11 import Attribute, KeyType, ObjectClass

        try:
            return session.get_key(object_class=ObjectClass.SECRET_KEY, label=_SEAL_KEY_LABEL)
        except pkcs11.exceptions.NoSuchKey:
            return session.generate_key(
                KeyType.AES,
                256,
                store=True,
                label=_SEAL_KEY_LABEL,
                template={
                    Attribute.TOKEN: True,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.ENCRYPT: True,
                    Attribute.DECRYPT: True,
                },
            )

    def seal(self, secret: bytes, *, aad: bytes) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        def run(session: Any) -> bytes:
            nonce = os.urandom(_NONCE_BYTES)
            sealed = self._seal_key(session).encrypt(
                secret, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad)
            )
            return nonce + bytes(sealed)

        result: bytes = self._call(run)
        return result

    def unseal(self, sealed: bytes, *, aad: bytes) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        def run(session: Any) -> bytes:
            nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
            return bytes(
                self._seal_key(session).decrypt(
                    body, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad)
                )
            )

        result: bytes = self._call(run)
        return result


@functools.lru_cache(maxsize=4)
def _software(kek_material: str) -> SoftwareKeystore:
    return SoftwareKeystore(kek_material)


def keystore(name: str) -> Keystore:
    """The keystore called `name` ("software" or "pkcs11"), configured from settings."""
    if name == SoftwareKeystore.name:
        return _software(settings.DROPGATE_KEK)
    if name == Pkcs11Keystore.name:
        return Pkcs11Keystore(
            module=settings.DROPGATE_PKCS11_MODULE,
            token_label=settings.DROPGATE_PKCS11_TOKEN_LABEL,
            pin=settings.DROPGATE_PKCS11_PIN,
        )
    raise ValueError(f"unknown keystore {name!r}")


def default_keystore() -> Keystore:
    """The keystore new keys are made in: `settings.DROPGATE_KEYSTORE`."""
    return keystore(settings.DROPGATE_KEYSTORE)
