"""Enrol a TOTP device for a staff user: the second factor the admin asks for at sign-in.

Prints the otpauth:// URI (scan it, or type the secret into an authenticator app) once; it is
not shown again anywhere. The device counts once its user signs in to the admin with a code
from it. `--replace` removes the user's existing device first (a lost phone): until the new
one is used, that user cannot sign in.
"""

from __future__ import annotations

from base64 import b32encode
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="remove the user's existing device first (it stops working at once)",
        )
        parser.add_argument("--name", default="authenticator", help="a label for the device")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no such user: {options['username']}")
        if not user.is_staff:
            raise CommandError(f"{user} is not staff: only staff sign in to the admin")
        existing = TOTPDevice.objects.select_for_update().filter(user=user)
        if existing.exists():
            if not options["replace"]:
                raise CommandError(
                    f"{user} already has a TOTP device; pass --replace to issue a new one"
                )
            existing.delete()
        device = TOTPDevice.objects.create(user=user, name=options["name"], confirmed=False)
        self.stdout.write(
            f"TOTP device for {user.get_username()} (shown only now):\n"
            f"  URI:    {device.config_url}\n"
            f"  secret: {b32encode(device.bin_key).decode()}\n"
            "It becomes the user's second factor at their first admin sign-in with a code from it."
        )
