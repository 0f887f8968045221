"""Print the current TOTP code for a base32 secret (RFC 6238: SHA-1, 6 digits, 30 s).

    python -m scripts.totp SECRET

For the demo's admin login, whose secret `make demo` prints; any authenticator app does the
same. It reads nothing but its argument.
"""

from __future__ import annotations

import sys
from base64 import b32decode

from django_otp.oath import totp


def current_code(secret: str) -> str:
    padded = secret.strip().upper() + "=" * (-len(secret.strip()) % 8)
    return f"{totp(b32decode(padded)):06d}"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m scripts.totp BASE32_SECRET", file=sys.stderr)
        return 2
    try:
        print(current_code(argv[0]))
    except ValueError as exc:
        print(f"not a base32 secret: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
