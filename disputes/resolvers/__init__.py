"""The dispute rules, as readable code: one small module per resolver, each a pure function
over the frozen `Evidence` (and the `Policy` thresholds), plus the consensus that combines
them. Nothing here touches the database; `disputes.evidence` gathers what they read.

| resolver       | votes on                         | reader                                   | publisher                                            |
|----------------|----------------------------------|------------------------------------------|------------------------------------------------------|
| delivery       | not_delivered, charged_twice     | no successful delivery recorded; charged before under a grant still valid | a delivery recorded; a single charge |
| behaviour      | not_as_described, accidental     | no delivery, or dwell after delivery < DROPGATE_DISPUTE_BOUNCE_SECONDS | never (abstains: the publisher must answer) |
| authentication | unauthorized                     | a key compromise reported before the unlock | registered key, fraud `allow`, fingerprint of an earlier unlock |
| reputation     | never votes                      | a first dispute wins a tie               | blocks automatic decisions for repeat filers        |
"""

from __future__ import annotations

from collections.abc import Callable

from disputes.resolvers import authentication, behaviour, delivery
from disputes.types import Evidence, Policy, Vote

Resolver = Callable[[Evidence, Policy], Vote]

# Every voting resolver, in the order their reason codes are reported.
RESOLVERS: tuple[Resolver, ...] = (delivery.vote, behaviour.vote, authentication.vote)

__all__ = ["RESOLVERS", "Resolver"]
