"""Pre-publication of the next access-token key: it is in the JWKS before it signs, so a
publisher's cached JWKS already holds the key of every grant it will see.

The movable clock (`clock.override`) stands in for the days and minutes between beat runs.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from channels_app import clock
from channels_app.keys import services as keys
from channels_app.keys.keystore import keystore
from channels_app.keys.services import GrantInvalid
from channels_app.models import KeyEvent, KeyRecord

pytestmark = pytest.mark.django_db
AUD = "pub_prepublish"
WINDOW = 900  # DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS in these tests
DAY = 86_400


@pytest.fixture(autouse=True)
def _windows(settings) -> None:
    settings.DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS = WINDOW
    settings.DROPGATE_TOKEN_KEY_MAX_AGE_DAYS = 30
    settings.DROPGATE_KEY_OVERLAP_SECONDS = 900


def _grant() -> str:
    return keys.token_issue(claims={"aud": AUD, "sub": "rdr_1"}, ttl=timedelta(seconds=300))


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _jwks_kids(jwks: dict | None = None) -> list[str]:
    return [key["kid"] for key in (jwks or keys.token_jwks())["keys"]]


def _verify_with(jwks: dict, token: str) -> dict:
    """What a publisher's edge does with its cached copy of the JWKS."""
    key = jwt.PyJWKSet.from_dict(jwks)[_kid(token)]
    return jwt.decode(token, key.key, algorithms=["EdDSA"], audience=AUD)


def _at(seconds: float):
    return clock.override(timedelta(seconds=seconds))


def _pending() -> KeyRecord:
    return KeyRecord.objects.get(
        purpose="access_token", active=False, retired_at__isnull=True, revoked_at__isnull=True
    )


def _forge_with(record: KeyRecord) -> str:
    """A grant signed with `record`'s own private key, as someone holding a copy could make."""
    raw = keystore(record.keystore).unseal(
        bytes(record.sealed), aad=f"{record.purpose}:{record.key_id}".encode()
    )
    now = int(clock.now().timestamp())
    return jwt.encode(
        {"iss": keys.TOKEN_ISSUER, "aud": AUD, "sub": "rdr_1", "iat": now, "exp": now + 300},
        Ed25519PrivateKey.from_private_bytes(raw),
        algorithm="EdDSA",
        headers={"kid": record.key_id},
    )


def _scheduled_cycle() -> tuple[str, str, float]:
    """Given an active key at its age limit, run the scheduler until it has pre-published the
    next key. Returns (active kid, pending kid, the clock offset of the pre-publication)."""
    active = _kid(_grant())
    published_at = 30 * DAY - WINDOW + 5
    with _at(published_at):
        assert keys.keys_rotate_due() == []
    return active, _pending().key_id, published_at


def test_a_prepublished_key_is_in_the_jwks_and_signs_nothing() -> None:
    active = _kid(_grant())

    info = keys.token_key_prepublish(actor="test", reason="planned")

    assert info.state == "pending" and info.key_id != active and info.published_at is not None
    assert _jwks_kids() == [active, info.key_id]  # active first, then the next one
    for _ in range(3):
        assert _kid(_grant()) == active  # grants are still signed by the active key
    assert KeyRecord.objects.get(key_id=info.key_id).activated_at is None
    assert keys.token_key_prepublish(actor="test").key_id == info.key_id  # idempotent
    assert KeyRecord.objects.filter(purpose="access_token").count() == 2


def test_a_grant_signed_by_a_pending_key_is_refused() -> None:
    _grant()
    keys.token_key_prepublish(actor="test")
    pending = _pending()
    forged = _forge_with(pending)
    assert _jwks_kids().count(pending.key_id) == 1  # published …

    with pytest.raises(GrantInvalid):  # … yet it has signed nothing, so it verifies nothing
        keys.token_verify(token=forged, audience=AUD)

    pending.refresh_from_db()
    assert pending.state == "pending" and pending.activated_at is None  # nothing changed


def test_the_scheduler_prepublishes_then_promotes_once_published_long_enough() -> None:
    # Not yet within one window of the 30-day age limit: nothing happens.
    active = _kid(_grant())
    with _at(30 * DAY - WINDOW - 60):
        assert keys.keys_rotate_due() == []
        assert _jwks_kids() == [active]

    active, pending, published_at = _scheduled_cycle()

    with _at(published_at + WINDOW - 30):  # published, but not for the whole window yet
        assert keys.keys_rotate_due() == []
        assert _kid(_grant()) == active and _pending().key_id == pending
    with _at(published_at + WINDOW + 1):
        done = keys.keys_rotate_due()
        assert [(o.old_key_id, o.new_key_id) for o in done] == [(active, pending)]
        assert keys.keys_rotate_due() == []  # idempotent: promoted once, the new key is young
    # Grants are issued and checked on the wall clock (PyJWT checks iat/exp against it).
    new_grant = _grant()
    assert _kid(new_grant) == pending
    assert keys.token_verify(token=new_grant, audience=AUD)["sub"] == "rdr_1"
    assert _jwks_kids() == [pending, active]  # the old key in its overlap window
    old = KeyRecord.objects.get(key_id=active)
    assert old.state == "retired" and old.verify_until is not None


def test_a_grant_by_the_new_key_verifies_against_the_jwks_fetched_before_promotion() -> None:
    old_grant = _grant()
    _, pending, published_at = _scheduled_cycle()
    with _at(published_at + 60):
        cached = keys.token_jwks()  # a publisher's edge fetches and caches the JWKS

    with _at(published_at + WINDOW + 1):
        assert len(keys.keys_rotate_due()) == 1
    new_grant = _grant()  # on the wall clock, which the publisher's verifier uses

    assert _kid(new_grant) == pending
    assert _verify_with(cached, new_grant)["sub"] == "rdr_1"
    assert _verify_with(cached, old_grant)["sub"] == "rdr_1"


def test_an_on_demand_rotation_without_prepublication_is_unknown_to_an_older_cache() -> None:
    """The contrast: why the scheduler pre-publishes. The emergency path does not."""
    _grant()
    cached = keys.token_jwks()
    keys.token_key_rotate(actor="test")
    with pytest.raises(KeyError):
        _verify_with(cached, _grant())


def test_on_demand_rotation_promotes_a_pending_key_at_once() -> None:
    active = _kid(_grant())
    pending = keys.token_key_prepublish(actor="test").key_id

    out = io.StringIO()
    call_command("keys_rotate", "--purpose", "access_token", "--actor", "ops:dana", stdout=out)
    result = json.loads(out.getvalue())

    assert (result["old_key_id"], result["new_key_id"]) == (active, pending)
    assert _kid(_grant()) == pending  # no wait
    rotated = KeyEvent.objects.get(action="rotated", purpose="access_token")
    assert rotated.actor == "ops:dana"
    assert rotated.detail["prepublished"] is True
    assert rotated.detail["skipped_prepublication"] is True


def test_emergency_rotation_without_a_pending_key_is_immediate() -> None:
    active = _kid(_grant())
    outcome = keys.token_key_rotate(actor="test", reason="suspicion")
    assert outcome.old_key_id == active and _kid(_grant()) == outcome.new_key_id != active
    assert KeyEvent.objects.get(action="rotated").detail["skipped_prepublication"] is True


def test_the_compromise_drill_skips_the_wait_and_revokes_the_pending_key_too() -> None:
    stolen = _grant()
    pending = keys.token_key_prepublish(actor="test").key_id

    out = io.StringIO()
    call_command("keys_compromise_drill", "--purpose", "access_token", stdout=out)
    report = json.loads(out.getvalue())

    fresh = _grant()
    assert report["revoked_key_id"] == _kid(stolen)
    assert _kid(fresh) == report["new_key_id"] not in (_kid(stolen), pending)
    assert _jwks_kids() == [report["new_key_id"]]
    for kid in (_kid(stolen), pending):
        record = KeyRecord.objects.get(key_id=kid)
        assert record.state == "revoked" and bytes(record.sealed) == b""
    with pytest.raises(GrantInvalid):
        keys.token_verify(token=stolen, audience=AUD)
    revoked = set(
        KeyEvent.objects.filter(action="revoked", purpose="access_token").values_list(
            "key_id", flat=True
        )
    )
    assert revoked == {_kid(stolen), pending}
    with _at(WINDOW + 1):
        assert keys.keys_rotate_due() == []  # nothing left pending to promote
        assert _kid(_grant()) == report["new_key_id"]


def test_every_step_of_a_scheduled_rotation_is_audited() -> None:
    active, pending, published_at = _scheduled_cycle()
    with _at(published_at + WINDOW + 1):
        keys.keys_rotate_due()

    steps = [
        (e.action, e.key_id, e.new_key_id, e.actor)
        for e in KeyEvent.objects.filter(purpose="access_token").order_by("pk")
    ]
    assert steps == [
        ("created", active, "", "system"),
        ("created", pending, "", "scheduler"),
        ("prepublished", pending, "", "scheduler"),
        ("activated", pending, "", "scheduler"),
        ("rotated", active, pending, "scheduler"),
    ]
    events = {e.action: e for e in KeyEvent.objects.filter(key_id=pending)}
    assert events["created"].detail["state"] == "pending"
    assert events["prepublished"].detail["reason"] == "scheduled"
    assert events["activated"].detail["published_seconds"] >= WINDOW
    rotated = KeyEvent.objects.get(action="rotated")
    assert rotated.detail["skipped_prepublication"] is False


def test_keys_rotate_prepublish_command() -> None:
    active = _kid(_grant())
    out = io.StringIO()
    call_command(
        "keys_rotate", "--purpose", "access_token", "--prepublish", "--actor", "ops:eve", stdout=out
    )
    result = json.loads(out.getvalue())
    assert result["state"] == "pending" and result["key_id"] in _jwks_kids()
    assert _kid(_grant()) == active
    assert KeyEvent.objects.filter(action="prepublished", actor="ops:eve").exists()
    with pytest.raises(CommandError):
        call_command("keys_rotate", "--purpose", "settlement", "--prepublish")
