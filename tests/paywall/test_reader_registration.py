"""Registering a reader proves possession of its claim key (issue 9, finding 2).

The claim key is public: it is the PublicKey of every channel the reader opens. Before this
check anyone could register a reader holding a victim's key, register the victim's channel
first (the channel's key matched "their" claim key), and leave the victim with 409
`channel_taken`, unable to close or spend. Now a reader is only created with a signature by
the key over `DGREG\\0 ‖ publisher ‖ \\0 ‖ challenge ‖ \\0 ‖ key`, where the challenge comes
from GET /api/v1/readers/challenge, names the publisher, expires, and works once.

The messages are built here byte by byte from the protocol (docs/sdk-protocol.md), not with
the service's helper, so the wire format is pinned.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from xrpl.clients import JsonRpcClient
from xrpl.constants import CryptoAlgorithm
from xrpl.core import keypairs
from xrpl.models.transactions import PaymentChannelCreate
from xrpl.transaction import submit_and_wait
from xrpl.wallet import Wallet

from channels_app import clock
from channels_app.models import Channel
from channels_app.services.platform import platform_bootstrap
from paywall.models import Reader
from paywall.services.exceptions import RegistrationChallengeUnavailable
from paywall.services.readers import (
    claim_key_rotation_message,
    reader_claim_key_rotate,
    reader_create,
)
from tests.channels_app.factories import ClaimKey, claim_key
from tests.channels_app.ledger_helpers import created_channel_id, ledger_channel
from tests.fixtures.sandbox import fund_account
from tests.paywall.factories import (
    ORIGIN,
    OTHER_ORIGIN,
    make_publisher,
    make_reader,
    registration_proof,
)
from tests.paywall.helpers import error_code

pytestmark = pytest.mark.django_db


def registration_message(publisher_key: str, challenge: str, public_key_hex: str) -> bytes:
    return (
        b"DGREG\x00"
        + publisher_key.encode("ascii")
        + b"\x00"
        + challenge.encode("ascii")
        + b"\x00"
        + bytes.fromhex(public_key_hex)
    )


def sign(key: ClaimKey, message: bytes) -> str:
    """Signed as a claim is: Ed25519 over the bytes, secp256k1 DER over their SHA-512Half."""
    return str(keypairs.sign(message, key.private_key))


def get_challenge(api: Any, publisher_key: str, **kwargs: Any) -> str:
    response = api.get(
        "readers/challenge", headers={"X-Dropgate-Publisher": publisher_key}, **kwargs
    )
    assert response.status_code == 200, response.content
    return str(response.json()["challenge"])


def register(api: Any, publisher_key: str, body: dict[str, Any], **kwargs: Any) -> Any:
    return api.post("readers", body, headers={"X-Dropgate-Publisher": publisher_key}, **kwargs)


def proven_body(api: Any, publisher_key: str, key: ClaimKey) -> dict[str, str]:
    challenge = get_challenge(api, publisher_key)
    return {
        "claim_public_key": key.public_key,
        "challenge": challenge,
        "proof": sign(key, registration_message(publisher_key, challenge, key.public_key)),
    }


# --- The attack, first -----------------------------------------------------------------------


def test_a_claim_key_without_its_private_key_cannot_register_a_reader(api) -> None:
    # Given a victim's claim key, which anyone can read on the ledger
    publisher = make_publisher()
    victim = claim_key()
    attacker = claim_key()
    # When an attacker registers a reader with it, without a proof
    for body in (
        {"claim_public_key": victim.public_key},
        {"claim_public_key": victim.public_key, "challenge": "", "proof": ""},
    ):
        response = register(api, publisher.key, body)
        # Then it is refused with a stable code
        assert response.status_code == 400, (body, response.content)
        assert error_code(response) == "claim_key_proof_required"
    # And with a proof made by its own key over the victim's registration message
    challenge = get_challenge(api, publisher.key)
    message = registration_message(publisher.key, challenge, victim.public_key)
    body = {"claim_public_key": victim.public_key, "challenge": challenge}
    response = register(api, publisher.key, {**body, "proof": sign(attacker, message)})
    assert response.status_code == 422, response.content
    assert error_code(response) == "claim_key_proof_invalid"
    # no reader holds the victim's key
    assert not Reader.objects.filter(claim_public_key=victim.public_key.upper()).exists()


@pytest.mark.integration
def test_the_attacker_cannot_take_the_victims_channel(api, settings, sandbox_url: str) -> None:
    # Given a victim's channel to the platform, whose PublicKey (the victim's claim key) is
    # on the ledger for anyone to read
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12
    platform = str(platform_bootstrap()["address"])
    publisher = make_publisher()
    victim_key = claim_key()
    wallet = Wallet.create()
    fund_account(sandbox_url, wallet.address, 30_000_000)
    opened = submit_and_wait(
        PaymentChannelCreate(
            account=wallet.address,
            destination=platform,
            destination_tag=publisher.destination_tag,
            amount="5000000",
            settle_delay=3600,
            public_key=victim_key.public_key,
        ),
        JsonRpcClient(sandbox_url),
        wallet,
    )
    channel_id = created_channel_id(opened.result)
    on_ledger_key = ledger_channel(sandbox_url, channel_id)["PublicKey"]

    # When an attacker registers a reader with that key, without its private key
    taken = register(api, publisher.key, {"claim_public_key": on_ledger_key})
    if taken.status_code == 201:  # the hole: show what the attacker can do with it
        grab = api.post(
            "channels",
            {"channel_id": channel_id},
            auth=f"Reader {taken.json()['reader_token']}",
        )
        raise AssertionError(
            f"an attacker registered a reader with the victim's key, then the victim's "
            f"channel ({grab.status_code}: {grab.content!r})"
        )
    # Then it is refused
    assert taken.status_code == 400, taken.content
    assert error_code(taken) == "claim_key_proof_required"

    # And the victim registers with its proof, and registers and owns its channel
    victim_body = proven_body(api, publisher.key, victim_key)
    created = register(api, publisher.key, victim_body)
    assert created.status_code == 201, created.content
    victim_token = created.json()["reader_token"]

    # While every other way for the attacker is refused too: its own signature, the victim's
    # request replayed, the victim's proof with a fresh challenge
    attacker_key = claim_key()
    fresh = get_challenge(api, publisher.key)
    attempts = [
        {
            "claim_public_key": victim_key.public_key,
            "challenge": fresh,
            "proof": sign(
                attacker_key, registration_message(publisher.key, fresh, victim_key.public_key)
            ),
        },
        victim_body,
        {**victim_body, "challenge": get_challenge(api, publisher.key)},
    ]
    for body in attempts:
        response = register(api, publisher.key, body)
        assert response.status_code in (409, 422), (body, response.content)
        assert error_code(response) in {"claim_key_proof_invalid", "registration_challenge_used"}
    assert Reader.objects.filter(claim_public_key=victim_key.public_key.upper()).count() == 1

    registered = api.post("channels", {"channel_id": channel_id}, auth=f"Reader {victim_token}")
    assert registered.status_code == 200, registered.content
    reader = Reader.objects.get(public_id=created.json()["reader_id"])
    assert Channel.objects.get(channel_id=channel_id).owner_ref == reader.public_id


# --- The proof and the challenge ------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [CryptoAlgorithm.ED25519, CryptoAlgorithm.SECP256K1])
def test_a_proven_key_registers_a_reader(api, algorithm) -> None:
    publisher = make_publisher()
    key = claim_key(algorithm)
    response = register(api, publisher.key, proven_body(api, publisher.key, key))
    assert response.status_code == 201, response.content
    reader = Reader.objects.get(public_id=response.json()["reader_id"])
    assert reader.claim_public_key == key.public_key.upper()


def test_the_challenge_names_the_publisher_and_expires(api) -> None:
    publisher = make_publisher()
    response = api.get("readers/challenge", publisher=publisher.key)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"publisher", "challenge", "expires_at", "expires_in"}
    assert body["publisher"] == publisher.key
    assert body["challenge"].startswith("rch_")
    assert 0 < body["expires_in"] <= 300
    assert "no-store" in response["Cache-Control"]
    # a fresh one each time
    assert get_challenge(api, publisher.key) != get_challenge(api, publisher.key)


def test_a_challenge_works_once(api) -> None:
    publisher = make_publisher()
    body = proven_body(api, publisher.key, claim_key())
    assert register(api, publisher.key, body).status_code == 201
    again = register(api, publisher.key, body)
    assert (again.status_code, error_code(again)) == (409, "registration_challenge_used")
    assert Reader.objects.count() == 1


def test_a_challenge_of_another_publisher_is_refused(api) -> None:
    # A proof captured on one site cannot make a reader on another.
    publisher = make_publisher()
    other = make_publisher(name="Other", origins=(ORIGIN, OTHER_ORIGIN))
    key = claim_key()
    challenge = get_challenge(api, other.key)
    for publisher_in_message in (other.key, publisher.key):
        body = {
            "claim_public_key": key.public_key,
            "challenge": challenge,
            "proof": sign(
                key, registration_message(publisher_in_message, challenge, key.public_key)
            ),
        }
        response = register(api, publisher.key, body)
        assert response.status_code == 422, response.content
        assert error_code(response) == "registration_challenge_invalid"
    assert Reader.objects.count() == 0


def test_a_proof_for_another_publisher_is_refused(api) -> None:
    publisher = make_publisher()
    other = make_publisher(name="Other")
    key = claim_key()
    challenge = get_challenge(api, publisher.key)
    body = {
        "claim_public_key": key.public_key,
        "challenge": challenge,
        "proof": sign(key, registration_message(other.key, challenge, key.public_key)),
    }
    response = register(api, publisher.key, body)
    assert (response.status_code, error_code(response)) == (422, "claim_key_proof_invalid")
    assert Reader.objects.count() == 0


def test_an_expired_challenge_is_refused(api) -> None:
    publisher = make_publisher()
    key = claim_key()
    body = proven_body(api, publisher.key, key)
    with clock.override(timedelta(seconds=302)):
        response = register(api, publisher.key, body)
    assert (response.status_code, error_code(response)) == (422, "registration_challenge_expired")
    assert Reader.objects.count() == 0


@pytest.mark.parametrize(
    "mangle",
    [
        lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"),  # the MAC
        lambda c: c.replace("rch_", "rdr_"),
        lambda c: "rch_" + "x" * 60,
        lambda c: "",
        lambda c: c + "_",
    ],
)
def test_a_forged_challenge_is_refused(api, mangle) -> None:
    publisher = make_publisher()
    key = claim_key()
    challenge = mangle(get_challenge(api, publisher.key))
    body = {
        "claim_public_key": key.public_key,
        "challenge": challenge,
        "proof": sign(key, registration_message(publisher.key, challenge, key.public_key)),
    }
    response = register(api, publisher.key, body)
    assert response.status_code in (400, 422), response.content
    assert error_code(response) in {"registration_challenge_invalid", "claim_key_proof_required"}
    assert Reader.objects.count() == 0


@pytest.mark.parametrize("proof", ["zz" * 64, "00" * 64, "AB" * 600, "A"])
def test_a_malformed_proof_is_422(api, proof) -> None:
    publisher = make_publisher()
    key = claim_key()
    body = {**proven_body(api, publisher.key, key), "proof": proof}
    response = register(api, publisher.key, body)
    assert response.status_code in (400, 422), response.content
    assert error_code(response) in {"claim_key_proof_invalid", "invalid_request"}
    assert Reader.objects.count() == 0


def test_the_challenge_endpoint_checks_the_publisher_and_origin(api) -> None:
    publisher = make_publisher()
    unknown = api.get("readers/challenge", headers={"X-Dropgate-Publisher": "pub_nosuch"})
    assert (unknown.status_code, error_code(unknown)) == (404, "publisher_not_found")
    missing = api.get("readers/challenge")
    assert (missing.status_code, error_code(missing)) == (400, "invalid_request")
    foreign = api.get(
        "readers/challenge", headers={"X-Dropgate-Publisher": publisher.key}, origin=OTHER_ORIGIN
    )
    assert (foreign.status_code, error_code(foreign)) == (403, "origin_not_allowed")


def test_a_cache_that_cannot_be_reached_fails_closed() -> None:
    # Given a valid proof, and a Redis cache (the single-use marks) that is down
    publisher = make_publisher()
    key = claim_key()
    challenge, proof = registration_proof(publisher, key)
    dead_redis = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    # When the reader is registered
    with (
        override_settings(CACHES=dead_redis),
        pytest.raises(RegistrationChallengeUnavailable) as refused,
    ):
        reader_create(
            publisher=publisher,
            claim_public_key=key.public_key,
            challenge=challenge,
            proof_signature=proof,
        )
    # Then it is refused with a 503 (a replay could not be told apart), and nothing is made
    assert (refused.value.http_status, refused.value.code) == (503, "registration_unavailable")
    assert Reader.objects.count() == 0


@pytest.mark.integration
def test_readers_registered_before_proofs_cannot_take_a_shared_key_s_channel(
    api, settings, sandbox_url: str
) -> None:
    # Given two readers registered before proofs were required, both holding the victim's key
    # (one of them an attacker's), and the victim's channel on the ledger
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12
    platform = str(platform_bootstrap()["address"])
    publisher = make_publisher()
    victim_key = claim_key()
    victim, victim_token, _ = make_reader(publisher, victim_key)
    attacker, attacker_token, _ = make_reader(publisher, victim_key)
    Reader.objects.filter(pk__in=[victim.pk, attacker.pk]).update(claim_key_proven=False)
    wallet = Wallet.create()
    fund_account(sandbox_url, wallet.address, 30_000_000)
    opened = submit_and_wait(
        PaymentChannelCreate(
            account=wallet.address,
            destination=platform,
            destination_tag=publisher.destination_tag,
            amount="5000000",
            settle_delay=3600,
            public_key=victim_key.public_key,
        ),
        JsonRpcClient(sandbox_url),
        wallet,
    )
    channel_id = created_channel_id(opened.result)
    # When either registers the channel
    for token in (attacker_token, victim_token):
        response = api.post("channels", {"channel_id": channel_id}, auth=f"Reader {token}")
        # Then neither gets it: who owns the key is ambiguous
        assert (response.status_code, error_code(response)) == (409, "claim_key_shared")
    assert not Channel.objects.filter(channel_id=channel_id).exists()
    # And a reader who proved the key registers it
    prover, prover_token, _ = make_reader(publisher, victim_key)
    assert prover.claim_key_proven
    registered = api.post("channels", {"channel_id": channel_id}, auth=f"Reader {prover_token}")
    assert registered.status_code == 200, registered.content
    assert Channel.objects.get(channel_id=channel_id).owner_ref == prover.public_id


def test_a_reader_alone_with_its_unproven_key_keeps_working(api) -> None:
    # A reader registered before proofs, whose key no other reader holds, is not disturbed
    # (registration then only checks the ledger: here, that the channel does not exist).
    publisher = make_publisher()
    legacy, token, _ = make_reader(publisher)
    Reader.objects.filter(pk=legacy.pk).update(claim_key_proven=False)
    response = api.post("channels", {"channel_id": "AB" * 32}, auth=f"Reader {token}")
    assert error_code(response) != "claim_key_shared"


def test_a_rotation_proves_the_new_key() -> None:
    publisher = make_publisher()
    legacy, _, _ = make_reader(publisher)
    Reader.objects.filter(pk=legacy.pk).update(claim_key_proven=False)
    legacy.refresh_from_db()
    new_key = claim_key()
    message = claim_key_rotation_message(
        reader_id=legacy.public_id, public_key=bytes.fromhex(new_key.public_key)
    )
    reader_claim_key_rotate(
        reader=legacy, new_public_key=new_key.public_key, proof_signature=sign(new_key, message)
    )
    assert Reader.objects.get(pk=legacy.pk).claim_key_proven is True
