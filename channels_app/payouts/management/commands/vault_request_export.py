"""The vault's open signing requests. Without a reference: list them (JSON lines). With one:
write its request file (the unsigned blob, for the approvers' offline CLI) to --out or stdout."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from channels_app.exceptions import DropgateError
from channels_app.payouts.services.approvers import signing_request, signing_requests_open


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("ref", nargs="?", help="a request's reference (see the list)")
        parser.add_argument("--out", help="write the request file here")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if not options["ref"]:
                for request in signing_requests_open():
                    self.stdout.write(
                        json.dumps(
                            {
                                "ref": request.ref,
                                "kind": request.kind,
                                "last_ledger_sequence": request.last_ledger_sequence,
                                "signed_by": list(request.signed_by),
                                "quorum": request.quorum,
                                "summary": request.summary,
                            }
                        )
                    )
                return
            document = json.dumps(signing_request(options["ref"]).document(), indent=2) + "\n"
        except DropgateError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        if options["out"]:
            with open(options["out"], "x", encoding="utf-8") as handle:
                handle.write(document)
        else:
            self.stdout.write(document)
