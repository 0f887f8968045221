"""`manage.py keys_derive --mnemonic-file F --path "m/44'/144'/0'/0/0"`: the HD key check.

Contract (DESIGN.md, "HD key check"): prints one JSON object `{"address": ..., "public_key":
...}` for the secp256k1 key at the BIP32 path under the file's BIP39 mnemonic, with an empty
passphrase. Whitespace around and between the words is ignored. Exit 2 with `error: <reason>`
on stderr for a missing or unreadable file, a bad mnemonic or a bad path. It never touches the
database, and never prints the mnemonic or a private key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from channels_app.keys import hd

EXIT_ERROR = 2
_MAX_FILE_BYTES = 4096


class Command(BaseCommand):
    help = "Derive the XRPL address and public key at a BIP44 path from a BIP39 mnemonic file."

    # System checks may query the database; this command must not.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        argparse_error = parser.error

        def error(message: str) -> NoReturn:
            if parser.called_from_command_line:
                parser.print_usage(sys.stderr)
                self._fail(message)
            argparse_error(message)  # raises CommandError under call_command
            raise AssertionError("unreachable")

        parser.error = error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mnemonic-file", required=True, help="file holding the mnemonic")
        parser.add_argument(
            "--path", default="m/44'/144'/0'/0/0", help="BIP32 path, default m/44'/144'/0'/0/0"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["mnemonic_file"])
        try:
            with path.open("rb") as handle:
                raw = handle.read(_MAX_FILE_BYTES + 1)
        except OSError:
            self._fail(f"cannot read the mnemonic file {str(path)!r}")
        if len(raw) > _MAX_FILE_BYTES:
            self._fail("the mnemonic file is too large")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._fail("the mnemonic file is not UTF-8 text")
        try:
            key = hd.derive_from_mnemonic(text, options["path"])
        except hd.HdError as exc:
            self._fail(str(exc))
        self.stdout.write(json.dumps({"address": key.address, "public_key": key.public_key}))

    def _fail(self, reason: str) -> NoReturn:
        self.stderr.write(f"error: {reason}")
        self.stderr.flush()
        sys.exit(EXIT_ERROR)
