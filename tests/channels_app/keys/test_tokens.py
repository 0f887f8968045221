"""Access-token keys: rotation with an overlap window, revocation, the JWKS, the HSM path."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import jwt
import pytest
from django.core.management import call_command

from channels_app import clock
from channels_app.keys import services as keys
from channels_app.keys.services import GrantInvalid
from channels_app.models import KeyEvent, KeyRecord

pytestmark = pytest.mark.django_db
AUD = "pub_tokens"


def _grant(ttl_seconds: int = 300) -> str:
    return keys.token_issue(claims={"aud": AUD, "sub": "rdr_1"}, ttl=timedelta(seconds=ttl_seconds))


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _jwks_kids() -> list[str]:
    return [key["kid"] for key in keys.token_jwks()["keys"]]


def test_rotation_keeps_the_old_key_verifying_for_the_overlap_window(settings) -> None:
    settings.DROPGATE_KEY_OVERLAP_SECONDS = 900
    old_grant = _grant(ttl_seconds=3600)  # longer than the overlap, to see the window close
    old_kid = _kid(old_grant)

    outcome = keys.token_key_rotate(actor="test", reason="scheduled")

    new_grant = _grant()
    assert outcome.old_key_id == old_kid and _kid(new_grant) == outcome.new_key_id != old_kid
    assert _jwks_kids() == [outcome.new_key_id, old_kid]  # the active key first
    assert keys.token_verify(token=old_grant, audience=AUD)["sub"] == "rdr_1"
    assert keys.token_verify(token=new_grant, audience=AUD)["sub"] == "rdr_1"

    with clock.override(timedelta(seconds=901)):
        assert _jwks_kids() == [outcome.new_key_id]
        with pytest.raises(GrantInvalid):
            keys.token_verify(token=old_grant, audience=AUD)
    event = KeyEvent.objects.get(action="rotated", purpose="access_token")
    assert (event.key_id, event.new_key_id) == (old_kid, outcome.new_key_id)


def test_publishers_verify_rotated_grants_with_the_published_jwks() -> None:
    old_grant = _grant()
    keys.token_key_rotate(actor="test")
    new_grant = _grant()
    jwks = jwt.PyJWKSet.from_dict(keys.token_jwks())
    for token in (old_grant, new_grant):
        key = next(k for k in jwks.keys if k.key_id == _kid(token))
        assert jwt.decode(token, key.key, algorithms=["EdDSA"], audience=AUD)["sub"] == "rdr_1"


def test_compromise_drill_revokes_the_token_key_and_its_grants() -> None:
    stolen_grant = _grant()
    suspect = _kid(stolen_grant)

    out = io.StringIO()
    call_command("keys_compromise_drill", "--purpose", "access_token", stdout=out)
    report = json.loads(out.getvalue())

    assert report["revoked_key_id"] == suspect and report["new_key_id"]
    assert report["payouts_paused"] is True
    assert suspect not in _jwks_kids()
    with pytest.raises(GrantInvalid):
        keys.token_verify(token=stolen_grant, audience=AUD)
    fresh = _grant()
    assert _kid(fresh) == report["new_key_id"]
    assert keys.token_verify(token=fresh, audience=AUD)["sub"] == "rdr_1"
    record = KeyRecord.objects.get(key_id=suspect)
    assert record.state == "revoked" and bytes(record.sealed) == b"" and record.destroyed_at


def test_revoking_a_retired_key_cuts_its_overlap_short() -> None:
    old_grant = _grant()
    keys.token_key_rotate(actor="test")
    keys.token_key_revoke(key_id=_kid(old_grant), actor="test", reason="leaked backup")
    assert _kid(old_grant) not in _jwks_kids()
    with pytest.raises(GrantInvalid):
        keys.token_verify(token=old_grant, audience=AUD)
    assert keys.token_verify(token=_grant(), audience=AUD)  # the active key is untouched


def test_on_demand_rotation_command() -> None:
    first = _kid(_grant())
    out = io.StringIO()
    call_command("keys_rotate", "--purpose", "access_token", "--actor", "ops:carol", stdout=out)
    result = json.loads(out.getvalue())
    assert result["old_key_id"] == first and _kid(_grant()) == result["new_key_id"]
    assert KeyEvent.objects.filter(action="rotated", actor="ops:carol").exists()


def test_scheduled_rotation_rotates_only_keys_past_their_age(settings) -> None:
    settings.DROPGATE_TOKEN_KEY_MAX_AGE_DAYS = 30
    settings.DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS = 900
    first = _kid(_grant())
    assert keys.keys_rotate_due() == []
    with clock.override(timedelta(days=31)):
        assert keys.keys_rotate_due() == []  # first the next key is pre-published …
        assert _kid(_grant()) == first
    with clock.override(timedelta(days=31, seconds=901)):
        done = keys.keys_rotate_due()  # … then promoted once it was published long enough
        assert [o.old_key_id for o in done] == [first]
        assert keys.keys_rotate_due() == []  # idempotent: the new key is young


def test_the_rotation_task_is_registered_and_scheduled(settings) -> None:
    from paywall.celery import app

    app.loader.import_default_modules()
    assert "channels_app.keys.tasks.keys_rotate_due" in app.tasks
    entry = settings.CELERY_BEAT_SCHEDULE["keys-rotate-due"]
    assert entry["task"] == "channels_app.keys.tasks.keys_rotate_due"
    from channels_app.keys.tasks import keys_rotate_due

    assert keys_rotate_due.run() == []


def test_token_keys_in_the_hsm_sign_grants_publishers_can_verify(hsm) -> None:
    token = _grant()
    record = KeyRecord.objects.get(purpose="access_token", active=True)
    assert record.keystore == "pkcs11" and bytes(record.sealed) == b""
    assert keys.token_verify(token=token, audience=AUD)["sub"] == "rdr_1"
    jwks = jwt.PyJWKSet.from_dict(keys.token_jwks())
    assert jwt.decode(token, jwks[_kid(token)].key, algorithms=["EdDSA"], audience=AUD)
    keys.token_key_revoke(actor="test")
    with pytest.raises(GrantInvalid):
        keys.token_verify(token=token, audience=AUD)


def test_blind_token_keys_are_reserved() -> None:
    from channels_app.keys.exceptions import KeyPurposeReserved

    with pytest.raises(KeyPurposeReserved):
        keys.key_ensure(purpose="blind_token")
    assert not KeyRecord.objects.filter(purpose="blind_token").exists()


def test_no_key_material_in_repr_str_or_admin() -> None:
    from django.contrib import admin

    keys.token_issue(claims={"aud": AUD, "sub": "x", "exp": 2**31})
    record = KeyRecord.objects.get(purpose="access_token", active=True)
    sealed_hex = bytes(record.sealed).hex()
    assert sealed_hex not in repr(record) and sealed_hex not in str(record)
    key_admin = admin.site._registry[KeyRecord]
    assert "sealed" in (key_admin.exclude or ())
    for model in (KeyEvent,):
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(None)
        assert not model_admin.has_change_permission(None)
        assert not model_admin.has_delete_permission(None)
    event = KeyEvent.objects.first()
    with pytest.raises(ValueError):
        event.save()
