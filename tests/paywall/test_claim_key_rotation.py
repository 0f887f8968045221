"""Rotating a reader's claim key: proven by the new key, audited, the old channels retired.

The ledger is faked here (channels_app.ledger's two reads); tests/paywall/test_sandbox_flow.py
runs the same rotation against the sandbox ledger, settlement and close included.
"""

from __future__ import annotations

from typing import Any

import pytest
from xrpl.constants import CryptoAlgorithm
from xrpl.core import keypairs
from xrpl.core.keypairs import derive_classic_address

from channels_app import ledger
from channels_app.models import Channel, ChannelStatus, Claim
from channels_app.services import channels as channel_services
from channels_app.tasks import settle_channel
from channels_app.types import LedgerChannel, LedgerInfo
from paywall.models import Reader, ReaderKeyRotation, Unlock
from paywall.services.readers import claim_key_rotation_message
from tests.channels_app.factories import ClaimKey, claim_key, make_channel, random_channel_id
from tests.paywall.factories import make_article, make_publisher, make_reader
from tests.paywall.helpers import error_code

pytestmark = pytest.mark.django_db

PRICE = 250_000
PLATFORM = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"


def proof(key: ClaimKey, reader: Reader) -> str:
    message = claim_key_rotation_message(
        reader_id=reader.public_id, public_key=bytes.fromhex(key.public_key)
    )
    return keypairs.sign(message, key.private_key)


def claim(key: ClaimKey, channel_id: str, amount: int) -> dict[str, str]:
    return {
        "channel_id": channel_id,
        "amount_drops": str(amount),
        "signature": key.sign(channel_id, amount),
    }


@pytest.fixture
def queued(monkeypatch) -> list[tuple[Any, ...]]:
    """The settle_channel tasks queued (they run on a worker, not here)."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        settle_channel, "apply_async", lambda args=(), kwargs=None, **_: calls.append(args)
    )
    return calls


@pytest.fixture
def fake_ledger(monkeypatch) -> dict[str, LedgerChannel]:
    """Channels "on the ledger" by id; registration reads them from here."""
    entries: dict[str, LedgerChannel] = {}
    monkeypatch.setattr(ledger, "channel_entry", entries.get)
    monkeypatch.setattr(ledger, "validated_ledger", lambda: LedgerInfo(100, 800_000_000))
    monkeypatch.setattr(channel_services, "platform_address", lambda: PLATFORM)
    return entries


def on_ledger(entries: dict[str, LedgerChannel], *, key: ClaimKey, tag: int) -> str:
    channel_id = random_channel_id()
    entries[channel_id] = LedgerChannel(
        channel_id=channel_id,
        source_address="rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe",
        destination_address=PLATFORM,
        amount_drops=5_000_000,
        balance_drops=0,
        public_key=key.public_key,
        settle_delay=86_400,
        expiration=None,
        cancel_after=None,
        destination_tag=tag,
        ledger_index=100,
    )
    return channel_id


@pytest.fixture
def site():
    publisher = make_publisher()
    article = make_article(publisher, price_drops=PRICE)
    other = make_article(publisher, slug="second-story", price_drops=PRICE)
    reader, token, key = make_reader(publisher)
    channel = make_channel(key=key, owner_ref=reader.public_id)
    return publisher, (article, other), reader, f"Reader {token}", key, channel


def test_rotation_audits_retires_the_old_channel_and_the_new_key_pays(
    api, site, queued, fake_ledger, django_capture_on_commit_callbacks
) -> None:
    # given a reader who paid once from its channel under the old key
    publisher, (article, other), reader, auth, old_key, old_channel = site
    paid = api.post(
        "unlocks",
        {"article": article.slug, "claim": claim(old_key, old_channel.channel_id, PRICE)},
        auth=auth,
    )
    assert paid.status_code == 201, paid.content
    new_key = claim_key(CryptoAlgorithm.SECP256K1)

    # when it rotates to a new key, proven by that key
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "readers/me/claim-key",
            {"public_key": new_key.public_key.lower(), "proof": proof(new_key, reader)},
            auth=auth,
        )

    # then the key is replaced, the rotation audited and the old channel's close queued
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reader_id"] == reader.public_id
    assert body["claim_public_key"] == new_key.public_key
    assert body["previous_public_key"] == old_key.public_key
    assert body["closing_channels"] == [old_channel.channel_id]
    reader.refresh_from_db()
    assert reader.claim_public_key == new_key.public_key
    rotation = ReaderKeyRotation.objects.get()
    assert (rotation.reader, rotation.old_public_key, rotation.new_public_key) == (
        reader,
        old_key.public_key,
        new_key.public_key,
    )
    assert rotation.old_channel_ids == [old_channel.channel_id]
    assert queued == [(old_channel.pk, "key_rotation", True)]

    # and a further claim on the old channel is refused, charging nothing
    refused = api.post(
        "unlocks",
        {"article": other.slug, "claim": claim(old_key, old_channel.channel_id, 2 * PRICE)},
        auth=auth,
    )
    assert refused.status_code == 409, refused.content
    assert error_code(refused) == "channel_retired"
    old_channel.refresh_from_db()
    assert old_channel.accepted_drops == PRICE
    assert (Claim.objects.count(), Unlock.objects.count()) == (1, 1)

    # and a channel opened with the old key can no longer be registered
    stale = on_ledger(fake_ledger, key=old_key, tag=publisher.destination_tag)
    registered_old = api.post("channels", {"channel_id": stale}, auth=auth)
    assert registered_old.status_code == 422, registered_old.content
    assert error_code(registered_old) == "channel_wrong_key"
    assert not Channel.objects.filter(channel_id=stale).exists()

    # while one opened with the new key registers and pays
    fresh = on_ledger(fake_ledger, key=new_key, tag=publisher.destination_tag)
    registered = api.post("channels", {"channel_id": fresh}, auth=auth)
    assert registered.status_code == 200, registered.content
    unlocked = api.post(
        "unlocks", {"article": other.slug, "claim": claim(new_key, fresh, PRICE)}, auth=auth
    )
    assert unlocked.status_code == 201, unlocked.content
    assert Channel.objects.get(channel_id=fresh).accepted_drops == PRICE
    assert Unlock.objects.get(article=other).channel_id == fresh


def test_repeating_the_rotation_is_idempotent(
    api, site, queued, django_capture_on_commit_callbacks
) -> None:
    _, _, reader, auth, _, old_channel = site
    new_key = claim_key()
    body = {"public_key": new_key.public_key, "proof": proof(new_key, reader)}
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post("readers/me/claim-key", body, auth=auth)
    assert first.status_code == 201, first.content

    with django_capture_on_commit_callbacks(execute=True):
        again = api.post("readers/me/claim-key", body, auth=auth)

    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert ReaderKeyRotation.objects.count() == 1
    assert queued == [(old_channel.pk, "key_rotation", True)]


def test_a_closed_channel_is_not_closed_again(
    api, site, queued, django_capture_on_commit_callbacks
) -> None:
    _, _, reader, auth, _, old_channel = site
    Channel.objects.filter(pk=old_channel.pk).update(status=ChannelStatus.CLOSED)
    new_key = claim_key()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "readers/me/claim-key",
            {"public_key": new_key.public_key, "proof": proof(new_key, reader)},
            auth=auth,
        )
    assert response.status_code == 201, response.content
    assert response.json()["closing_channels"] == []
    assert queued == []


def assert_nothing_changed(reader: Reader, key: ClaimKey, queued: list[Any]) -> None:
    reader.refresh_from_db()
    assert reader.claim_public_key == key.public_key
    assert not ReaderKeyRotation.objects.exists()
    assert queued == []


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda new, other, reader: proof(other, reader), id="signed-by-another-key"),
        pytest.param(
            lambda new, other, reader: keypairs.sign(
                claim_key_rotation_message(
                    reader_id="rdr_someoneelse000000000000",
                    public_key=bytes.fromhex(new.public_key),
                ),
                new.private_key,
            ),
            id="for-another-reader",
        ),
        pytest.param(lambda new, other, reader: new.sign("00" * 32, 1), id="a-claim-not-a-proof"),
        pytest.param(lambda new, other, reader: "zz", id="not-hex"),
    ],
)
def test_a_forged_proof_is_refused(
    api, site, queued, django_capture_on_commit_callbacks, forge
) -> None:
    _, _, reader, auth, key, _ = site
    new_key = claim_key()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "readers/me/claim-key",
            {"public_key": new_key.public_key, "proof": forge(new_key, claim_key(), reader)},
            auth=auth,
        )
    assert response.status_code == 422, response.content
    assert error_code(response) == "claim_key_proof_invalid"
    assert_nothing_changed(reader, key, queued)


@pytest.mark.parametrize("public_key", ["", "ED" + "00" * 31, "04" + "11" * 32, "not a key"])
def test_a_bad_key_is_refused(api, site, queued, public_key: str) -> None:
    _, _, reader, auth, key, _ = site
    response = api.post(
        "readers/me/claim-key", {"public_key": public_key, "proof": "00"}, auth=auth
    )
    assert response.status_code == 400, response.content
    assert error_code(response) in {"invalid_public_key", "invalid_request"}
    assert_nothing_changed(reader, key, queued)


def test_the_current_key_is_refused(api, site, queued) -> None:
    _, _, reader, auth, key, _ = site
    response = api.post(
        "readers/me/claim-key",
        {"public_key": key.public_key, "proof": proof(key, reader)},
        auth=auth,
    )
    assert response.status_code == 409, response.content
    assert error_code(response) == "claim_key_unchanged"
    assert_nothing_changed(reader, key, queued)


def test_the_funding_accounts_key_cannot_become_the_claim_key(api, site, queued) -> None:
    _, _, reader, auth, key, _ = site
    funding = claim_key(CryptoAlgorithm.SECP256K1)
    make_channel(
        key=key,
        owner_ref=reader.public_id,
        source_address=derive_classic_address(funding.public_key),
    )
    response = api.post(
        "readers/me/claim-key",
        {"public_key": funding.public_key, "proof": proof(funding, reader)},
        auth=auth,
    )
    assert response.status_code == 400, response.content
    assert error_code(response) == "claim_key_is_funding_key"
    assert_nothing_changed(reader, key, queued)


def test_a_retired_key_cannot_come_back(
    api, site, queued, django_capture_on_commit_callbacks
) -> None:
    _, _, reader, auth, old_key, _ = site
    new_key = claim_key()
    with django_capture_on_commit_callbacks(execute=True):
        api.post(
            "readers/me/claim-key",
            {"public_key": new_key.public_key, "proof": proof(new_key, reader)},
            auth=auth,
        )
    response = api.post(
        "readers/me/claim-key",
        {"public_key": old_key.public_key, "proof": proof(old_key, reader)},
        auth=auth,
    )
    assert response.status_code == 409, response.content
    assert error_code(response) == "claim_key_retired"
    reader.refresh_from_db()
    assert reader.claim_public_key == new_key.public_key
    assert ReaderKeyRotation.objects.count() == 1


def test_another_readers_token_cannot_rotate(
    api, site, queued, django_capture_on_commit_callbacks
) -> None:
    # given another reader of the same site holding a proof made for the victim
    publisher, _, victim, _, victim_key, _ = site
    _, other_token, _ = make_reader(publisher)
    new_key = claim_key()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "readers/me/claim-key",
            {"public_key": new_key.public_key, "proof": proof(new_key, victim)},
            auth=f"Reader {other_token}",
        )
    # then the proof does not verify for the caller, and the victim is untouched
    assert response.status_code == 422, response.content
    assert error_code(response) == "claim_key_proof_invalid"
    assert_nothing_changed(victim, victim_key, queued)


def test_rotation_needs_a_reader_token(api, site, queued) -> None:
    _, _, reader, _, key, _ = site
    new_key = claim_key()
    body = {"public_key": new_key.public_key, "proof": proof(new_key, reader)}
    assert api.post("readers/me/claim-key", body).status_code == 401
    forged = api.post("readers/me/claim-key", body, auth="Reader rdt_nope_nope")
    assert forged.status_code == 401
    assert_nothing_changed(reader, key, queued)


def test_the_endpoint_is_in_the_schema(client) -> None:
    paths = client.get("/api/schema/?format=json").json()["paths"]
    operation = paths["/api/v1/readers/me/claim-key"]["post"]
    assert operation["operationId"] == "reader_claim_key_rotate"
    assert {"201", "200", "409", "422"} <= set(operation["responses"])
    assert operation["security"] == [{"readerToken": []}]
