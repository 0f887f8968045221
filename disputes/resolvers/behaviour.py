"""Behaviour (content disputes: `not_as_described`, `accidental`): what the reader did.

The reader, if the body was never delivered (`no_delivery`: nothing to judge the content by)
or the recorded dwell on the article after its delivery is under
DROPGATE_DISPUTE_BOUNCE_SECONDS (`bounce`). Otherwise abstain: the reader read it (`read`), or
there is no telemetry to tell (`dwell_unknown`), and the publisher must answer.
"""

from __future__ import annotations

from disputes.types import Evidence, Policy, Vote

NAME = "behaviour"
CONTENT_REASONS = frozenset({"not_as_described", "accidental"})


def vote(evidence: Evidence, policy: Policy) -> Vote:
    if evidence.reason not in CONTENT_REASONS:
        return Vote(NAME, "abstain", ())
    if not evidence.delivered:
        return Vote(NAME, "reader", ("no_delivery",))
    dwell = evidence.dwell_after_delivery_ms
    if dwell is None:
        return Vote(NAME, "abstain", ("dwell_unknown",))
    if dwell < policy.bounce_seconds * 1000:
        return Vote(NAME, "reader", ("bounce",))
    return Vote(NAME, "abstain", ("read",))
