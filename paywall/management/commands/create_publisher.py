"""Create a publisher (and optionally an API key) from the command line.

    python manage.py create_publisher --name "Demo News" --origin http://127.0.0.1:8001 \
        [--payout-address r…] [--currency USD] [--fee-bps 1000] [--key pub_demo] \
        [--api-key] [--if-missing] [--json]

With --if-missing and an existing --key, the publisher is left as it is (its origins are
extended with any new --origin) and reported, so scripts such as the demo can run it every
time. The API key's secret is printed once and cannot be shown again.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_app.exceptions import DropgateError
from paywall.models import Publisher
from paywall.services.publishers import api_key_create, publisher_create, publisher_update


class Command(BaseCommand):
    help = "Create a publisher (and optionally an API key) and print its keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--origin",
            action="append",
            default=[],
            dest="origins",
            help="An allowed origin (repeatable), e.g. http://127.0.0.1:8001",
        )
        parser.add_argument("--payout-address", default="")
        parser.add_argument("--currency", default="USD", help="Display currency (ISO 4217).")
        parser.add_argument("--fee-bps", type=int, default=None)
        parser.add_argument("--key", default=None, help="A fixed publisher key, pub_…")
        parser.add_argument("--api-key", action="store_true", help="Also create an API key.")
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="With --key: reuse the publisher if it exists instead of failing.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            publisher, created = self._publisher(options)
            token = api_key_create(publisher=publisher).token if options["api_key"] else None
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        result = {
            "publisher": publisher.key,
            "name": publisher.name,
            "created": created,
            "destination_tag": publisher.destination_tag,
            "allowed_origins": publisher.allowed_origins,
            "api_key": token,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        verb = "Created" if created else "Found"
        self.stdout.write(f"{verb} publisher {publisher.key} ({publisher.name})")
        self.stdout.write(f"destination tag: {publisher.destination_tag}")
        self.stdout.write(f"allowed origins: {', '.join(publisher.allowed_origins) or '-'}")
        if token:
            self.stdout.write(f"API key (shown once): {token}")

    def _publisher(self, options: dict[str, Any]) -> tuple[Publisher, bool]:
        key = options["key"]
        if options["if_missing"] and key:
            existing = Publisher.objects.filter(key=key).first()
            if existing is not None:
                origins = list(dict.fromkeys([*existing.allowed_origins, *options["origins"]]))
                return publisher_update(publisher=existing, allowed_origins=origins), False
        publisher = publisher_create(
            name=options["name"],
            allowed_origins=options["origins"],
            payout_address=options["payout_address"],
            display_currency=options["currency"],
            fee_bps=options["fee_bps"],
            key=key,
        )
        return publisher, True
