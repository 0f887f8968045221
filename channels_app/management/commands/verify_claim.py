"""`manage.py verify_claim`: check one payment-channel claim by rippled's rules.

Contract (DESIGN.md, "Claim check"), one line on stdout:
- exit 0, `valid`;
- exit 1, `invalid: <reason>` for input that parses but rippled would reject;
- exit 2, `malformed: <reason>` for input that does not parse, missing options included.

It never touches the database.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from channels_app.signatures import InvalidSignature, MalformedInput, parse_claim, verify_claim

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_MALFORMED = 2


class Command(BaseCommand):
    help = "Verify a payment-channel claim signature the way rippled would."

    # System checks may query the database; this command must not.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        argparse_error = parser.error

        def error(message: str) -> NoReturn:
            # A missing or unknown option is malformed input too: say so on stdout, exit 2.
            if parser.called_from_command_line:
                parser.print_usage(sys.stderr)
                self._finish(EXIT_MALFORMED, f"malformed: {message}")
            argparse_error(message)  # raises CommandError under call_command
            raise AssertionError("unreachable")

        parser.error = error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", required=True, help="channel id, 64 hex digits")
        parser.add_argument("--amount", required=True, help="cumulative amount in drops")
        parser.add_argument("--signature", required=True, help="claim signature, hex")
        parser.add_argument("--public-key", required=True, help="channel public key, 66 hex digits")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            claim = parse_claim(
                channel=options["channel"],
                amount=options["amount"],
                signature=options["signature"],
                public_key=options["public_key"],
            )
        except MalformedInput as exc:
            self._finish(EXIT_MALFORMED, f"malformed: {exc.reason}")
        try:
            verify_claim(claim)
        except InvalidSignature as exc:
            self._finish(EXIT_INVALID, f"invalid: {exc.reason}")
        self.stdout.write("valid")

    def _finish(self, code: int, line: str) -> NoReturn:
        self.stdout.write(line)
        self.stdout.flush()
        sys.exit(code)
