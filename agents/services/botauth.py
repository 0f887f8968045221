"""Web Bot Auth: a crawler that signs its requests with HTTP Message Signatures (RFC 9421,
Ed25519) under a key published in its operator's key directory is identified as that operator.

- Verification uses the `http-message-signatures` library (RFC 9421) with keys Dropgate has
  already stored (CrawlerKey), found by `keyid`, the key's RFC 7638 JWK thumbprint. A request
  never makes Dropgate fetch anything: directories are read by `operator_keys_refresh`.
- The signature must carry tag `web-bot-auth`, `created` and `expires`, cover `@authority`
  (and `signature-agent` when that header is sent), and be no older than
  DROPGATE_BOT_AUTH_MAX_AGE_SECONDS.
- No signature: an anonymous agent. A User-Agent naming a known operator without a valid
  signature is recorded as `claimed_crawler` and treated as an anonymous agent.
- A signature that is present but does not verify is refused (401 bot_signature_invalid),
  so a broken signer never silently pays an anonymous price.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.cache import cache
from django.db import transaction
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms
from http_message_signatures.exceptions import HTTPMessageSignaturesException, InvalidSignature

from agents.exceptions import AgentError, SignatureInvalid
from agents.models import CrawlerKey, CrawlerOperator
from agents.types import Buyer
from channels_app import clock

WEB_BOT_AUTH_TAG = "web-bot-auth"
MAX_DIRECTORY_BYTES = 64 * 1024


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_thumbprint(x: str) -> str:
    """RFC 7638 thumbprint of an Ed25519 OKP JWK: SHA-256 over its canonical members."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def _now() -> datetime.datetime:
    return clock.now()


class _StoredKeys(HTTPSignatureKeyResolver):
    def __init__(self) -> None:
        self.key: CrawlerKey | None = None

    def resolve_public_key(self, key_id: str) -> ed25519.Ed25519PublicKey | None:
        now = _now()
        key = (
            CrawlerKey.objects.select_related("operator")
            .filter(keyid=key_id, revoked_at__isnull=True, operator__is_active=True)
            .first()
        )
        if key is None or (key.not_after is not None and key.not_after <= now):
            return None
        self.key = key
        return ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(key.public_key))

    def resolve_private_key(self, key_id: str) -> None:
        return None


@dataclass(frozen=True)
class _Message:
    method: str
    url: str
    headers: dict[str, str]


_UA_TOKENS_CACHE_KEY = "dropgate:agents:crawler-ua-tokens"
_UA_TOKENS_CACHE_SECONDS = 60


def _ua_tokens() -> list[tuple[str, str]]:
    """(operator name, lower-case User-Agent token) of every operator, cached for a minute:
    it is asked on every request at the machine door."""
    tokens = cache.get(_UA_TOKENS_CACHE_KEY)
    if tokens is None:
        tokens = [
            (str(name), str(token).lower())
            for name, token in CrawlerOperator.objects.exclude(user_agent_token="").values_list(
                "name", "user_agent_token"
            )
        ]
        cache.set(_UA_TOKENS_CACHE_KEY, tokens, _UA_TOKENS_CACHE_SECONDS)
    return list(tokens)


def _claimed_operator(user_agent: str) -> str:
    lowered = user_agent.lower()
    for name, token in _ua_tokens():
        if token in lowered:
            return name
    return ""


def buyer_identify(*, method: str, url: str, headers: dict[str, str], client_ip: str) -> Buyer:
    """Who sent this request. Raises SignatureInvalid (401) for a present but bad signature."""
    lowered = {name.lower(): value for name, value in headers.items()}
    user_agent = lowered.get("user-agent", "")[:512]
    if "signature" not in lowered and "signature-input" not in lowered:
        return Buyer(
            claimed_crawler=_claimed_operator(user_agent),
            user_agent=user_agent,
            client_ip=client_ip,
        )
    resolver = _StoredKeys()
    verifier = HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=resolver)
    required = ["@authority", "signature-agent"] if "signature-agent" in lowered else ["@authority"]
    from django.conf import settings

    try:
        results = verifier.verify(
            _Message(method=method.upper(), url=url, headers=headers),
            max_age=datetime.timedelta(seconds=settings.DROPGATE_BOT_AUTH_MAX_AGE_SECONDS),
            expect_tag=WEB_BOT_AUTH_TAG,
            require_components=required,
        )
    except (InvalidSignature, HTTPMessageSignaturesException) as exc:
        raise SignatureInvalid() from exc
    key = resolver.key
    if not results or key is None or "expires" not in results[0].parameters:
        raise SignatureInvalid("A Web Bot Auth signature needs `expires`.")
    operator = key.operator
    agent_header = lowered.get("signature-agent", "").strip().strip('"')
    if agent_header and operator.key_directory_url and agent_header != operator.key_directory_url:
        raise SignatureInvalid("Signature-Agent is not this key's directory.")
    return Buyer(
        operator_id=operator.pk,
        operator_name=operator.name,
        user_agent=user_agent,
        client_ip=client_ip,
    )


class DirectoryUnavailable(AgentError):
    code = "key_directory_unavailable"
    http_status = 503
    default_message = "The operator's key directory could not be read."


def _ed25519_keys(directory: dict[str, Any]) -> list[str]:
    keys = directory.get("keys")
    if not isinstance(keys, list):
        raise DirectoryUnavailable("The key directory has no `keys` list.")
    found = []
    for jwk in keys:
        if isinstance(jwk, dict) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            x = jwk.get("x")
            if isinstance(x, str) and len(_b64url_decode(x)) == 32:
                found.append(x)
    return found


@transaction.atomic
def operator_keys_set(*, operator: CrawlerOperator, directory: dict[str, Any]) -> int:
    """Store the Ed25519 keys of a JWKS key directory; keys no longer listed are revoked.
    Returns how many keys are in force."""
    xs = _ed25519_keys(directory)
    thumbprints = {jwk_thumbprint(x): _b64url_decode(x).hex() for x in xs}
    for keyid, public_hex in thumbprints.items():
        CrawlerKey.objects.update_or_create(
            keyid=keyid,
            defaults={"operator": operator, "public_key": public_hex, "revoked_at": None},
        )
    operator.keys.exclude(keyid__in=list(thumbprints)).filter(revoked_at__isnull=True).update(
        revoked_at=_now()
    )
    return len(thumbprints)


def operator_keys_refresh(*, operator: CrawlerOperator) -> int:
    """Read the operator's key directory (its /.well-known/http-message-signatures-directory)
    and store its keys. Raises DirectoryUnavailable."""
    if not operator.key_directory_url:
        raise DirectoryUnavailable("The operator has no key directory URL.")
    try:
        response = httpx.get(operator.key_directory_url, timeout=5.0, follow_redirects=False)
        response.raise_for_status()
        if len(response.content) > MAX_DIRECTORY_BYTES:
            raise DirectoryUnavailable("The key directory is too large.")
        directory = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise DirectoryUnavailable() from exc
    if not isinstance(directory, dict):
        raise DirectoryUnavailable("The key directory is not a JSON object.")
    return operator_keys_set(operator=operator, directory=directory)
