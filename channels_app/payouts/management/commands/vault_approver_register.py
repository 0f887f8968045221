"""Register a vault approver's public key, from the registration JSON that
`clients/approver/dropgate_approver.py register` prints (a file, or - for stdin).

The server stores the public key and its proof of possession, never a secret. The approver
joins the vault's SignerList only through `vault_custody_migrate` or `vault_approver_replace`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from channels_app.exceptions import DropgateError
from channels_app.payouts.services.approvers import vault_approver_register


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("registration", help="the registration JSON file, or - for stdin")
        parser.add_argument("--user", help="the approver's admin username (optional)")
        parser.add_argument("--actor", default="manage.py vault_approver_register")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["registration"]
        try:
            raw = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
            registration = json.loads(raw)
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read the registration: {exc}") from exc
        if not isinstance(registration, dict):
            raise CommandError("the registration is not a JSON object")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']}")
        try:
            approver = vault_approver_register(
                name=str(registration.get("name", "")),
                public_key=str(registration.get("public_key", "")),
                proof=str(registration.get("proof", "")),
                user=user,
                by=options["actor"],
            )
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            json.dumps(
                {
                    "id": approver.pk,
                    "name": approver.name,
                    "account": approver.account,
                    "status": approver.status,
                }
            )
        )
