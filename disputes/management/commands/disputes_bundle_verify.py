"""`python manage.py disputes_bundle_verify FILE`: check an escalated dispute's exported
evidence bundle (the JSON the admin offers for download) against its signature.

Exit 0 `valid`; 1 `invalid: <reason>`; 2 `malformed: <reason>`. It needs no database: the
public key is in the file, and the arbitrator compares it with the one the platform publishes.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from disputes.services.bundles import bundle_verify, canonical_json


class Command(BaseCommand):
    help = "Verify a dispute evidence bundle's signature (exit 0 valid, 1 invalid, 2 malformed)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            document = json.loads(Path(options["file"]).read_text(encoding="utf-8"))
            bundle = document["bundle"]
            signature = document["signature"]
            signature_hex = str(signature["signature"])
            public_key = str(signature["public_key"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.stdout.write(f"malformed: {type(exc).__name__}: {exc}")
            sys.exit(2)
        body = canonical_json(bundle)
        expected = signature.get("sha256")
        if expected and hashlib.sha256(body.encode("utf-8")).hexdigest() != expected:
            self.stdout.write("invalid: the bundle does not hash to its sha256")
            sys.exit(1)
        if not bundle_verify(body=body, signature_hex=signature_hex, public_key_hex=public_key):
            self.stdout.write("invalid: the signature does not verify")
            sys.exit(1)
        self.stdout.write("valid")
