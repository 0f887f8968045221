"""Delivery (technical disputes): what the delivery records and the charges say.

- `not_delivered`: the reader, if no successful delivery of the body is recorded for the
  unlock (`delivery_missing`: never fetched, or only failures); the publisher if one is
  (`delivery_recorded`).
- `charged_twice`: the reader, if the same reader was charged for the same article earlier
  and that charge's grant (DROPGATE_GRANT_TTL_SECONDS) was still valid when this one was made,
  so re-entry should have been free (`charged_within_grant`); the publisher otherwise
  (`single_charge`).
- Any other reason: abstain.
"""

from __future__ import annotations

from datetime import timedelta

from disputes.types import Evidence, Policy, Vote

NAME = "delivery"


def vote(evidence: Evidence, policy: Policy) -> Vote:
    if evidence.reason == "not_delivered":
        if evidence.delivered:
            return Vote(NAME, "publisher", ("delivery_recorded",))
        return Vote(NAME, "reader", ("delivery_missing",))
    if evidence.reason == "charged_twice":
        ttl = timedelta(seconds=evidence.grant_ttl_seconds)
        if any(at + ttl > evidence.unlocked_at for at in evidence.earlier_charges_at):
            return Vote(NAME, "reader", ("charged_within_grant",))
        return Vote(NAME, "publisher", ("single_charge",))
    return Vote(NAME, "abstain", ())
