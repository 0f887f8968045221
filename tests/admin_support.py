"""Helpers for tests that use the Django admin: staff users and logged-in clients."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Permission, User
from django.test import Client


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


def admin_client(user: User) -> Client:
    """A client logged in to the admin as `user`."""
    client = Client()
    client.force_login(user)
    return client
