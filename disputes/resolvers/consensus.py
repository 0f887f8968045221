"""Consensus: tier 1 decides when the voting resolvers agree and nothing escalates.

Not decided automatically (the reasons, in this order):
- `disagreement`: votes on both sides (unless a tie on a reader's first dispute, which the
  reader wins: `first_dispute`);
- `all_abstain`: nobody voted;
- `amount_over_limit`: more than DROPGATE_DISPUTE_AUTO_LIMIT_DROPS is at stake;
- `repeat_filer`: the Reputation resolver blocks it.

A decision's reasons are the reason codes of the votes on the winning side, in resolver order.
"""

from __future__ import annotations

from disputes.resolvers import RESOLVERS, reputation
from disputes.types import Consensus, Evidence, Policy, Standing, Vote


def _codes(votes: list[Vote]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(code for vote in votes for code in vote.reasons))


def combine(
    votes: tuple[Vote, ...], standing: Standing, *, amount_drops: int, policy: Policy
) -> Consensus:
    """The consensus of `votes` (pure: any votes, any standing)."""
    reader = [v for v in votes if v.side == "reader"]
    publisher = [v for v in votes if v.side == "publisher"]
    blockers: list[str] = []
    tie_for_reader = False
    if reader and publisher:
        if len(reader) == len(publisher) and standing.first_dispute:
            tie_for_reader = True
        else:
            blockers.append("disagreement")
    elif not reader and not publisher:
        blockers.append("all_abstain")
    if amount_drops > policy.auto_limit_drops:
        blockers.append("amount_over_limit")
    if standing.repeat_filer:
        blockers.append("repeat_filer")
    if blockers:
        return Consensus(None, tuple(blockers), votes, standing)
    if tie_for_reader:
        return Consensus("reader", (*_codes(reader), "first_dispute"), votes, standing)
    if reader:
        return Consensus("reader", _codes(reader), votes, standing)
    return Consensus("publisher", _codes(publisher), votes, standing)


def resolve(evidence: Evidence, policy: Policy) -> Consensus:
    """Every resolver's vote on `evidence`, and their consensus."""
    votes = tuple(resolver(evidence, policy) for resolver in RESOLVERS)
    return combine(
        votes,
        reputation.standing(evidence, policy),
        amount_drops=evidence.amount_drops,
        policy=policy,
    )
