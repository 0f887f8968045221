"""Authentication (fraud disputes: `unauthorized`): was it the reader who paid?

- The reader, if the reader reported the compromise of the key that signed the claim before
  the unlock (`key_compromise_reported`).
- The publisher, if the claim was signed by the reader's registered claim key
  (`registered_key`), the fraud decision at the unlock was `allow` (`fraud_allow`) and its
  device fingerprint was seen on an earlier unlock of this reader (`known_fingerprint`).
- Otherwise abstain, naming what was missing.
"""

from __future__ import annotations

from disputes.types import Evidence, Policy, Vote

NAME = "authentication"


def vote(evidence: Evidence, policy: Policy) -> Vote:
    if evidence.reason != "unauthorized":
        return Vote(NAME, "abstain", ())
    if evidence.key_compromise_reported_before:
        return Vote(NAME, "reader", ("key_compromise_reported",))
    missing = []
    if not evidence.claim_signed_by_registered_key:
        missing.append("unregistered_key")
    if evidence.fraud_decision != "allow":
        missing.append("fraud_not_allow")
    if not evidence.fingerprint_seen_before:
        missing.append("new_fingerprint")
    if missing:
        return Vote(NAME, "abstain", tuple(missing))
    return Vote(NAME, "publisher", ("registered_key", "fraud_allow", "known_fingerprint"))
