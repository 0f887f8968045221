"""Reputation: never decides alone.

- A reader with DROPGATE_DISPUTE_REPEAT_FILER or more disputes in the last
  DROPGATE_DISPUTE_REPEAT_WINDOW_DAYS (this one included) is a repeat filer: none of their
  disputes is decided automatically (`repeat_filer`).
- A reader's first dispute gets the benefit of a tie (`first_dispute`).
"""

from __future__ import annotations

from disputes.types import Evidence, Policy, Standing


def standing(evidence: Evidence, policy: Policy) -> Standing:
    return Standing(
        repeat_filer=evidence.reader_disputes_recent >= policy.repeat_filer,
        first_dispute=evidence.reader_disputes_before == 0,
    )
