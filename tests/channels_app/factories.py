"""Factories for channel and claim tests: reader claim keys, signed claims, tracked channels."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from xrpl.constants import CryptoAlgorithm
from xrpl.core import keypairs
from xrpl.core.binarycodec import encode_for_signing_claim

from channels_app.models import Channel


@dataclass(frozen=True)
class ClaimKey:
    public_key: str
    private_key: str

    def sign(self, channel_id: str, amount_drops: int) -> str:
        message = bytes.fromhex(
            encode_for_signing_claim({"channel": channel_id, "amount": str(amount_drops)})
        )
        return keypairs.sign(message, self.private_key)


def claim_key(algorithm: CryptoAlgorithm = CryptoAlgorithm.ED25519) -> ClaimKey:
    public, private = keypairs.derive_keypair(keypairs.generate_seed(algorithm=algorithm))
    return ClaimKey(public_key=public, private_key=private)


def random_channel_id() -> str:
    return secrets.token_hex(32).upper()


def make_channel(*, key: ClaimKey, amount_drops: int = 10_000_000, **overrides: object) -> Channel:
    """A tracked channel row, as registration would leave it (no ledger involved)."""
    fields: dict[str, object] = {
        "channel_id": random_channel_id(),
        "owner_ref": "rdr_test",
        "source_address": "rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe",
        "destination_address": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
        "public_key": key.public_key,
        "amount_drops": amount_drops,
        "settle_delay": 86_400,
    }
    fields.update(overrides)
    return Channel.objects.create(**fields)
