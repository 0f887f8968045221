"""Helpers for tests that use the Django admin: staff users, TOTP devices and signed-in clients.

The admin needs a session verified by the user's TOTP device (paywall.admin_site).
`admin_client` gives the user a confirmed device and marks the session verified by it, as a
sign-in through the form does (tests/paywall/test_admin_otp.py drives the real form).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Permission, User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def staff_user(name: str, *, perms: Iterable[str] = (), superuser: bool = False) -> User:
    """A staff user holding exactly `perms` ("app_label.codename")."""
    if superuser:
        return User.objects.create_superuser(name, f"{name}@example.invalid", "pw-for-tests")
    user = User.objects.create_user(name, password="pw-for-tests", is_staff=True)
    wanted = [perm.split(".", 1) for perm in perms]
    found = [
        permission
        for permission in Permission.objects.select_related("content_type")
        if [permission.content_type.app_label, permission.codename] in wanted
    ]
    missing = {".".join(w) for w in wanted} - {
        f"{p.content_type.app_label}.{p.codename}" for p in found
    }
    assert not missing, f"no such permissions: {sorted(missing)}"
    user.user_permissions.set(found)
    return user


def totp_device(user: User) -> TOTPDevice:
    """The user's confirmed TOTP device (made if missing)."""
    device = TOTPDevice.objects.filter(user=user).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)
    return device


def current_code(device: TOTPDevice) -> str:
    """The code the user's authenticator app shows now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def admin_client(user: User, *, verified: bool = True) -> Client:
    """A client signed in to the admin as `user`, its session verified by the user's TOTP
    device (or, with verified=False, signed in by password only)."""
    client = Client()
    client.force_login(user)
    if verified:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = totp_device(user).persistent_id
        session.save()
    return client
