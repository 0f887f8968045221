"""Two-factor sign-in to the admin: a password and a TOTP code, from a device an operator
enrolled with `staff_otp_enrol`; the money and key doors check the second factor again."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from channels_app.payouts.models import PayoutHold
from tests.admin_support import admin_client, current_code, staff_user

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"


def enrol(username: str, *extra: str) -> str:
    out = StringIO()
    call_command("staff_otp_enrol", username, *extra, stdout=out)
    return out.getvalue()


def code_from_uri(uri: str) -> str:
    from base64 import b32decode

    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    return f"{totp(b32decode(secret)):06d}"


def sign_in(client: Client, username: str, code: str) -> int:
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": PASSWORD, "otp_token": code, "next": "/admin/"},
    )
    return response.status_code


def test_an_enrolled_device_is_confirmed_by_the_first_sign_in_with_its_code() -> None:
    # Given staff enrolled by an operator
    staff_user("alice", superuser=True)
    printed = enrol("alice")
    uri = re.search(r"otpauth://totp/\S+", printed).group(0)
    assert "issuer=Dropgate" in uri and "Dropgate%3Aalice" in uri
    device = TOTPDevice.objects.get(user__username="alice")
    assert not device.confirmed

    client = Client()
    # When they sign in with the password and a wrong code, they are refused
    assert sign_in(client, "alice", "000000" if code_from_uri(uri) != "000000" else "111111") == 200
    assert client.get("/admin/").status_code == 302
    # (a failure throttles the device for a second; let that second pass)
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(seconds=30)
    )
    # and with the code their app shows, they are in, and the device counts from now on
    assert sign_in(client, "alice", code_from_uri(uri)) == 302
    assert client.get("/admin/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_staff_without_a_device_or_a_code_cannot_sign_in() -> None:
    staff_user("bob", superuser=True)
    client = Client()
    assert sign_in(client, "bob", "123456") == 200  # no device: refused
    assert client.get("/admin/").status_code == 302
    device = TOTPDevice.objects.create(user=User.objects.get(username="bob"), confirmed=True)
    assert sign_in(client, "bob", "") == 200  # a password alone: refused
    assert client.get("/admin/").status_code == 302
    assert sign_in(client, "bob", current_code(device)) == 302
    assert client.get("/admin/").status_code == 200


def test_a_password_only_session_reaches_no_admin_page_or_action() -> None:
    root = staff_user("root", superuser=True)
    hold = PayoutHold.objects.create(publisher_ref="pub_x", reason="fraud review")
    client = admin_client(root, verified=False)
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/payouts/payouthold/").status_code == 302
    response = client.post(
        "/admin/payouts/payouthold/", {"action": "release", "_selected_action": [str(hold.pk)]}
    )
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    hold.refresh_from_db()
    assert hold.released_at is None


def test_enrolment_is_for_staff_and_replaces_a_device_only_when_asked() -> None:
    User.objects.create_user("reader", password=PASSWORD)
    with pytest.raises(CommandError, match="not staff"):
        enrol("reader")
    with pytest.raises(CommandError, match="no such user"):
        enrol("ghost")
    staff_user("carol", superuser=True)
    first = enrol("carol")
    with pytest.raises(CommandError, match="--replace"):
        enrol("carol")
    second = enrol("carol", "--replace")
    assert TOTPDevice.objects.filter(user__username="carol").count() == 1
    old_uri = re.search(r"otpauth://\S+", first).group(0)
    new_uri = re.search(r"otpauth://\S+", second).group(0)
    assert old_uri != new_uri
    # the replaced device no longer signs in; the new one does
    client = Client()
    if code_from_uri(old_uri) != code_from_uri(new_uri):
        assert sign_in(client, "carol", code_from_uri(old_uri)) == 200
        TOTPDevice.objects.filter(user__username="carol").update(
            throttling_failure_timestamp=timezone.now() - timedelta(seconds=30)
        )
    assert sign_in(client, "carol", code_from_uri(new_uri)) == 302


def test_no_device_secret_is_shown_in_the_admin() -> None:
    root = staff_user("root", superuser=True)
    client = admin_client(root)
    device = TOTPDevice.objects.get(user=root)
    for url in ("/admin/otp_totp/totpdevice/", f"/admin/otp_totp/totpdevice/{device.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200
        assert device.key not in page.content.decode()
    assert client.get("/admin/otp_totp/totpdevice/add/").status_code == 403


def test_the_demo_prints_an_admin_login_that_works() -> None:
    import json

    from tests.paywall.factories import ORIGIN

    out = StringIO()
    call_command("demo_seed", "--site-origin", ORIGIN, stdout=out)
    login = json.loads(out.getvalue().strip().splitlines()[-1])
    assert login["admin_otp_uri"].startswith("otpauth://totp/Dropgate%3Aadmin?")
    assert code_from_uri(login["admin_otp_uri"]) == scripts_totp(login["admin_otp_secret"])
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": login["admin_user"],
            "password": login["admin_password"],
            "otp_token": login["admin_otp_code"],
            "next": "/admin/",
        },
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def scripts_totp(secret: str) -> str:
    from scripts.totp import current_code as totp_now

    return totp_now(secret)
