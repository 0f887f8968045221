"""Risk decisions in the unlock path: allow, challenge, refuse or hold.

`risk_decide` reads the telemetry session's stored score (fraud.selectors: cache, then the
database) and never runs the model, so it costs a couple of queries. It binds the session
to the reader at first use, consumes the velocity limits for what it would let through, and
records every decision.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from fraud.features.fingerprint import network_prefix_hash
from fraud.models import RiskDecisionRecord, TelemetrySession
from fraud.scoring import HARD_REASONS, NO_INTERACTION_REASON, NO_TELEMETRY_REASON, RULE_WEIGHTS
from fraud.selectors import telemetry_session_score
from fraud.services.challenges import challenge_issue
from fraud.types import Category, DecisionAction, RiskDecision, StoredScore

__all__ = ["risk_decide"]

NO_INTERACTION = NO_INTERACTION_REASON


def _bind(stored: StoredScore, reader_ref: str) -> str:
    """The reader the session is bound to after binding it to `reader_ref` if it was free."""
    if stored.reader_ref:
        return stored.reader_ref
    TelemetrySession.objects.filter(public_id=stored.session_id, reader_ref="").update(
        reader_ref=reader_ref
    )
    bound = (
        TelemetrySession.objects.filter(public_id=stored.session_id)
        .values_list("reader_ref", flat=True)
        .first()
    )
    return bound or ""


def _band(score: float) -> DecisionAction:
    if score >= float(settings.DROPGATE_RISK_REFUSE_AT):
        return "refuse"
    if score >= float(settings.DROPGATE_RISK_CHALLENGE_AT):
        return "challenge"
    if score >= float(settings.DROPGATE_RISK_HOLD_AT):
        return "hold"
    return "allow"


def _with_reason(score: float, reason: str) -> float:
    return 1.0 - (1.0 - score) * (1.0 - RULE_WEIGHTS.get(reason, 0.0))


@transaction.atomic
def risk_decide(
    *,
    publisher_ref: str,
    reader_ref: str,
    article_ref: str,
    channel_id: str,
    amount_drops: int,
    telemetry_session: str | None,
    user_agent: str,
    client_ip: str,
) -> RiskDecision:
    """Decide one unlock that is about to be charged, and record the decision.

    - `telemetry_session` None (an HTTP client or agent that pays, naming no session):
      category `agent`, allowed unless a velocity limit says no.
    - `telemetry_session` "" (the SDK, whose page had no telemetry socket): `no_telemetry`,
      scored into the hold band (nothing can be challenged without the socket).
    - A session of another publisher, one unknown, or one already bound to another reader
      (`session_reused`): refuse.
    - Otherwise the score's band: refuse at DROPGATE_RISK_REFUSE_AT (and on any hard reason:
      the browser says it is automated), challenge at DROPGATE_RISK_CHALLENGE_AT, hold the
      revenue at DROPGATE_RISK_HOLD_AT, else allow. A challenge passed lately turns a
      challenge into a hold (and a hold stays a hold).
    - allow and hold consume the velocity limits (fraud.services.velocity); over a limit the
      action is refuse with `velocity_limit` and `retry_after_seconds` set.

    `client_ip` gives the record's (hashed) network prefix when there is no session; with one,
    the session's own prefix (from its page's connection) is recorded. `user_agent` is the
    unlock request's, kept for the contract; the session already parsed its page's.
    """
    from fraud.services.velocity import velocity_consume

    stored: StoredScore | None = None
    category: Category
    challenge = None
    reasons: tuple[str, ...]
    score: float
    if telemetry_session is None:
        action: DecisionAction = "allow"
        score, reasons, category = 0.0, (), "agent"
    elif not telemetry_session:
        score = _with_reason(0.0, NO_TELEMETRY_REASON)
        reasons, category = (NO_TELEMETRY_REASON,), "unknown"
        # no socket, no challenge: at most a hold, unless the bands say refuse
        action = "hold" if _band(score) == "challenge" else _band(score)
    else:
        stored = telemetry_session_score(telemetry_session[:64])
        if stored is None:
            action, score, reasons, category = "refuse", 1.0, ("session_unknown",), "unknown"
        elif stored.publisher_ref != publisher_ref:
            action, score, reasons, category = "refuse", 1.0, ("session_mismatch",), "unknown"
            stored = None
        elif _bind(stored, reader_ref) != reader_ref:
            action, score = "refuse", 1.0
            reasons, category = (*stored.reasons, "session_reused"), stored.category
        else:
            score, reasons, category = stored.score, stored.reasons, stored.category
            if stored.events_count == 0:
                score, reasons = _with_reason(score, NO_INTERACTION), (*reasons, NO_INTERACTION)
            action = _band(score)
            if HARD_REASONS.intersection(reasons):
                action, category = "refuse", "bot"
            elif stored.challenge_passed and action in ("challenge", "hold"):
                action, reasons = "hold", (*reasons, "challenge_passed")
            elif action == "challenge":
                challenge = challenge_issue(session_id=stored.session_id)
    velocity_limit, retry_after = None, 0
    fingerprint = stored.fingerprint_hash if stored is not None else ""
    if action in ("allow", "hold"):
        verdict = velocity_consume(
            publisher_ref=publisher_ref,
            reader_ref=reader_ref,
            channel_id=channel_id,
            fingerprint_hash=fingerprint or None,
            category=category,
            amount_drops=amount_drops,
        )
        if not verdict.allowed:
            action = "refuse"
            velocity_limit = verdict.limit or "velocity"
            retry_after = max(1, int(verdict.retry_after_seconds))
            reasons = (*reasons, "velocity_limited")
    record = RiskDecisionRecord.objects.create(
        publisher_ref=publisher_ref,
        reader_ref=reader_ref,
        article_ref=article_ref[:200],
        channel_id=channel_id[:64],
        session_id=stored.pk if stored is not None else None,
        fingerprint_hash=fingerprint,
        network_prefix=(
            stored.network_prefix if stored is not None else network_prefix_hash(client_ip)
        ),
        action=action,
        score=round(score, 4),
        reasons=list(reasons),
        category=category,
        amount_drops=max(0, amount_drops),
    )
    return RiskDecision(
        action=action,
        score=round(score, 4),
        reasons=tuple(reasons),
        category=category,
        challenge=challenge,
        velocity_limit=velocity_limit,
        retry_after_seconds=retry_after,
        fingerprint_hash=fingerprint,
        record_id=record.pk,
    )
