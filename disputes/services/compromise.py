"""A reader reports that its claim key was compromised.

The report names the reader's current claim key and is kept append-only: an `unauthorized`
dispute of an unlock charged under that key after the report is the reader's (the
Authentication resolver). Replacing the key is the reader's next step
(`POST /api/v1/readers/me/claim-key`); reporting does not wait for it.
"""

from __future__ import annotations

from channels_app import clock
from disputes.exceptions import DisputeInvalid
from disputes.models import KeyCompromiseReport
from paywall.models import Reader

__all__ = ["key_compromise_report"]

MAX_NOTE_CHARS = 500


def key_compromise_report(*, reader: Reader, note: str = "") -> KeyCompromiseReport:
    """Record that `reader`'s current claim key is compromised, as of now."""
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        raise DisputeInvalid(
            f"note may be at most {MAX_NOTE_CHARS} characters.", code="note_too_long"
        )
    return KeyCompromiseReport.objects.create(
        reader=reader,
        public_key=reader.claim_public_key.upper(),
        reported_at=clock.now(),
        note=note,
    )
