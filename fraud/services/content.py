"""Content manipulation (view-bot surges on an article) and synthetic traffic.

Content manipulation, in two stages:

1. **Surge against a seasonal baseline.** Each article's hourly traffic (`ArticleTrafficHour`:
   telemetry views and risk decisions, rolled up from the raw rows) over the last
   DROPGATE_CONTENT_SURGE_HOURS is compared with the same hour of the week over the previous
   DROPGATE_CONTENT_BASELINE_WEEKS: an hour surges above
   max(median + SURGE_MADS * 1.4826 * MAD, SURGE_RATIO * median, MIN_SURGE_VIEWS). The last
   term is the floor that keeps new articles (no history, median 0) from surging on a few views.
2. **Graph analysis of the surge** (networkx): the reader-article-fingerprint-network graph of
   the surge window. A surge is manipulation when its readers collapse onto few devices or few
   networks, or when most of its paying readers never touched another article and are linked
   to each other through shared devices or networks (one large component). A genuine viral
   article brings many readers on many devices and networks and passes.

A confirmed pattern opens (or extends) a `content_manipulation` case on `article:<slug>` that
holds the revenue those readers brought the publisher since the surge began.

Synthetic traffic: sessions the scorer classed as bots with reasons naming uniform timing or
inhuman speed, aggregated per publisher and article; enough of them open a `synthetic_traffic`
case holding their readers' revenue.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import networkx as nx
from django.conf import settings
from django.db import transaction
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncHour

from channels_app import clock
from fraud.lock_objects import detector_lock
from fraud.models.cases import ArticleTrafficHour, FraudCaseKind
from fraud.models.telemetry import ArticleView, RiskDecisionRecord, TelemetrySession
from fraud.services.cases import case_open_detected

__all__ = [
    "ContentReport",
    "SurgeFinding",
    "content_scan",
    "content_surges",
    "content_traffic_rollup",
    "synthetic_scan",
]

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
MAD_SCALE = 1.4826  # MAD of a normal distribution -> its standard deviation


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class SurgeFinding:
    publisher_ref: str
    article_ref: str
    window_start: datetime
    window_end: datetime
    hours: list[dict[str, object]]  # per surging hour: traffic, median, mad, threshold
    metrics: dict[str, float]
    patterns: tuple[str, ...]  # empty: a surge, but no manipulation pattern
    readers: tuple[str, ...]

    @property
    def confirmed(self) -> bool:
        return bool(self.patterns)


@dataclass(frozen=True)
class ContentReport:
    surges: list[SurgeFinding] = field(default_factory=list)
    case_ids: list[int] = field(default_factory=list)


# --- Stage 0: hourly roll-up ----------------------------------------------------------------


def _hourly(queryset: QuerySet, since: datetime, until: datetime) -> dict[tuple, int]:  # type: ignore[type-arg]
    rows = (
        queryset.filter(created_at__gte=since, created_at__lt=until)
        .exclude(article_ref="")
        .annotate(hour=TruncHour("created_at"))
        .values("publisher_ref", "article_ref", "hour")
        .annotate(n=Count("pk"))
    )
    return {(r["publisher_ref"], r["article_ref"], r["hour"]): int(r["n"]) for r in rows}


@transaction.atomic
def content_traffic_rollup(*, since: datetime, until: datetime) -> int:
    """Recompute `ArticleTrafficHour` for the whole hours in [since, until) from the raw rows.

    Idempotent: a rerun writes the same numbers. Returns the number of rows written.
    """
    since, until = _hour_floor(since), _hour_floor(until) + HOUR
    views = _hourly(ArticleView.objects.all(), since, until)
    decisions = _hourly(RiskDecisionRecord.objects.all(), since, until)
    written = 0
    for key in set(views) | set(decisions):
        publisher_ref, article_ref, hour = key
        ArticleTrafficHour.objects.update_or_create(
            publisher_ref=publisher_ref,
            article_ref=article_ref,
            hour=hour,
            defaults={"views": views.get(key, 0), "decisions": decisions.get(key, 0)},
        )
        written += 1
    return written


# --- Stage 1: surges against the seasonal baseline ------------------------------------------


def _traffic(row_views: int, row_decisions: int) -> int:
    # Agents unlock without telemetry views; browsers view without always unlocking.
    return max(row_views, row_decisions)


def _surging_hours(
    series: dict[datetime, int], window: list[datetime], weeks: int
) -> list[dict[str, object]]:
    mads = _setting("DROPGATE_CONTENT_SURGE_MADS", 6)
    ratio = _setting("DROPGATE_CONTENT_SURGE_RATIO", 3)
    floor = _setting("DROPGATE_CONTENT_MIN_SURGE_VIEWS", 30)
    surging = []
    for hour in window:
        traffic = series.get(hour, 0)
        if traffic < floor:
            continue
        history = [series.get(hour - WEEK * k, 0) for k in range(1, weeks + 1)]
        median = statistics.median(history)
        mad = statistics.median(abs(value - median) for value in history)
        threshold = max(median + mads * MAD_SCALE * mad, ratio * median, floor)
        if traffic > threshold:
            surging.append(
                {
                    "hour": hour.isoformat(),
                    "traffic": traffic,
                    "median": median,
                    "mad": mad,
                    "threshold": round(threshold, 2),
                }
            )
    return surging


# --- Stage 2: graph analysis of a surge ------------------------------------------------------


def _surge_graph(
    publisher_ref: str, article_ref: str, start: datetime, end: datetime
) -> tuple[nx.Graph, set[str]]:
    """Reader-article-fingerprint-network graph of the surge window, and its paying readers.

    A session not yet bound to a reader is its own reader node.
    """
    graph = nx.Graph()
    article = ("article", article_ref)
    paying: set[str] = set()
    views = ArticleView.objects.filter(
        publisher_ref=publisher_ref,
        article_ref=article_ref,
        created_at__gte=start,
        created_at__lt=end,
    ).values_list(
        "session__public_id",
        "session__reader_ref",
        "session__fingerprint_hash",
        "session__network_prefix",
    )
    decisions = RiskDecisionRecord.objects.filter(
        publisher_ref=publisher_ref,
        article_ref=article_ref,
        created_at__gte=start,
        created_at__lt=end,
    ).values_list("pk", "reader_ref", "fingerprint_hash", "network_prefix")
    for kind, rows in (("session", views), ("decision", decisions)):
        for ident, reader_ref, fingerprint, prefix in rows.iterator():
            reader = ("reader", reader_ref or f"{kind}:{ident}")
            if reader_ref and kind == "decision":
                paying.add(reader_ref)
            graph.add_edge(reader, article)
            if fingerprint:
                graph.add_edge(reader, ("fingerprint", fingerprint))
            if prefix:
                graph.add_edge(reader, ("network", prefix))
    return graph, paying


def _single_article_readers(
    publisher_ref: str, article_ref: str, readers: set[str], since: datetime
) -> int:
    """How many of `readers` touched no other article of any publisher since `since`."""
    if not readers:
        return 0
    others: set[str] = set(
        RiskDecisionRecord.objects.filter(reader_ref__in=readers, created_at__gte=since)
        .exclude(publisher_ref=publisher_ref, article_ref=article_ref)
        .values_list("reader_ref", flat=True)
    )
    others |= set(
        ArticleView.objects.filter(session__reader_ref__in=readers, created_at__gte=since)
        .exclude(publisher_ref=publisher_ref, article_ref=article_ref)
        .values_list("session__reader_ref", flat=True)
    )
    return len(readers - others)


def _analyse(
    publisher_ref: str, article_ref: str, start: datetime, end: datetime, history_since: datetime
) -> tuple[dict[str, float], tuple[str, ...], tuple[str, ...]]:
    graph, paying = _surge_graph(publisher_ref, article_ref, start, end)
    readers = [n for n in graph if n[0] == "reader"]
    fingerprints = [n for n in graph if n[0] == "fingerprint"]
    networks = [n for n in graph if n[0] == "network"]
    total = len(readers)
    if total == 0:
        return {"readers": 0}, (), ()
    # The attribute graph without the article node: which readers are linked to each other.
    attributes = graph.subgraph(n for n in graph if n[0] != "article")
    largest = max(
        (sum(1 for n in c if n[0] == "reader") for c in nx.connected_components(attributes)),
        default=0,
    )
    single = _single_article_readers(publisher_ref, article_ref, paying, history_since)
    metrics = {
        "readers": float(total),
        "paying_readers": float(len(paying)),
        "fingerprints": float(len(fingerprints)),
        "networks": float(len(networks)),
        "fingerprint_diversity": round(len(fingerprints) / total, 4),
        "network_diversity": round(len(networks) / total, 4),
        "largest_component_share": round(largest / total, 4),
        "single_article_share": round(single / len(paying), 4) if paying else 0.0,
    }
    max_diversity = _setting("DROPGATE_CONTENT_MAX_DIVERSITY_PERCENT", 25) / 100
    single_share = _setting("DROPGATE_CONTENT_SINGLE_ARTICLE_PERCENT", 80) / 100
    patterns = []
    if fingerprints and metrics["fingerprint_diversity"] <= max_diversity:
        patterns.append("fingerprint_collapse")
    if networks and metrics["network_diversity"] <= max_diversity:
        patterns.append("network_collapse")
    if (
        paying
        and metrics["single_article_share"] >= single_share
        and metrics["largest_component_share"] >= 0.5
    ):
        patterns.append("dedicated_linked_readers")
    return metrics, tuple(patterns), tuple(sorted(paying))


def content_surges(*, now: datetime | None = None) -> list[SurgeFinding]:
    """Surging articles of the last DROPGATE_CONTENT_SURGE_HOURS, each analysed (a read,
    after rolling up the recent hours)."""
    now = now or clock.now()
    surge_hours = _setting("DROPGATE_CONTENT_SURGE_HOURS", 3)
    weeks = _setting("DROPGATE_CONTENT_BASELINE_WEEKS", 4)
    current = _hour_floor(now)
    window = [current - HOUR * k for k in range(surge_hours - 1, -1, -1)]
    content_traffic_rollup(since=window[0], until=now)

    baseline_since = window[0] - WEEK * weeks
    series: dict[tuple[str, str], dict[datetime, int]] = defaultdict(dict)
    candidates = set(
        ArticleTrafficHour.objects.filter(hour__gte=window[0]).values_list(
            "publisher_ref", "article_ref"
        )
    )
    for publisher_ref, article_ref, hour, views, decisions in ArticleTrafficHour.objects.filter(
        hour__gte=baseline_since
    ).values_list("publisher_ref", "article_ref", "hour", "views", "decisions"):
        if (publisher_ref, article_ref) in candidates:
            series[(publisher_ref, article_ref)][hour] = _traffic(views, decisions)

    findings = []
    for (publisher_ref, article_ref), hourly in sorted(series.items()):
        surging = _surging_hours(hourly, window, weeks)
        if not surging:
            continue
        start, end = window[0], now
        metrics, patterns, readers = _analyse(
            publisher_ref, article_ref, start, end, history_since=baseline_since
        )
        findings.append(
            SurgeFinding(
                publisher_ref=publisher_ref,
                article_ref=article_ref,
                window_start=start,
                window_end=end,
                hours=surging,
                metrics=metrics,
                patterns=patterns,
                readers=readers,
            )
        )
    return findings


def content_scan(*, now: datetime | None = None) -> ContentReport:
    """Find view-bot surges and open or extend their cases, holding the surge's revenue."""
    findings = content_surges(now=now)
    case_ids: list[int] = []
    with transaction.atomic():
        detector_lock("content")
        for finding in findings:
            if not finding.confirmed:
                continue
            case = case_open_detected(
                kind=FraudCaseKind.CONTENT_MANIPULATION,
                publisher_ref=finding.publisher_ref,
                subject=f"article:{finding.article_ref}",
                evidence={
                    "source": "content",
                    "article": finding.article_ref,
                    "surge_hours": finding.hours,
                    "metrics": finding.metrics,
                    "patterns": list(finding.patterns),
                },
                score=min(1.0, 0.5 + 0.2 * len(finding.patterns)),
                reader_refs=finding.readers,
                since=finding.window_start,
            )
            if case is not None:
                case_ids.append(case.pk)
    return ContentReport(surges=findings, case_ids=case_ids)


# --- Synthetic traffic ------------------------------------------------------------------------


def _synthetic_reasons(reasons: object) -> list[str]:
    wanted = set(getattr(settings, "DROPGATE_SYNTHETIC_REASONS", ()))
    if not isinstance(reasons, list):
        return []
    return [reason for reason in reasons if isinstance(reason, str) and reason in wanted]


def synthetic_scan(*, now: datetime | None = None) -> list[int]:
    """Open or extend `synthetic_traffic` cases: per publisher and article (`site` for
    sessions without article views), bot-scored sessions with uniform-timing or inhuman-speed
    reasons in the last DROPGATE_SYNTHETIC_WINDOW_HOURS. Returns the case ids. Idempotent."""
    now = now or clock.now()
    since = now - timedelta(hours=_setting("DROPGATE_SYNTHETIC_WINDOW_HOURS", 24))
    minimum = _setting("DROPGATE_SYNTHETIC_MIN_SESSIONS", 5)
    groups: dict[tuple[str, str], list[tuple[str, str, list[str], float]]] = defaultdict(list)
    sessions = TelemetrySession.objects.filter(updated_at__gte=since, category="bot")
    articles: dict[int, list[str]] = defaultdict(list)
    for session_pk, article_ref in ArticleView.objects.filter(
        session__in=sessions.values("pk")
    ).values_list("session_id", "article_ref"):
        articles[session_pk].append(article_ref)
    for pk, public_id, publisher_ref, reader_ref, reasons, score in sessions.values_list(
        "pk", "public_id", "publisher_ref", "reader_ref", "reasons", "score"
    ).iterator():
        matched = _synthetic_reasons(reasons)
        if not matched:
            continue
        for article_ref in articles.get(pk) or [""]:
            groups[(publisher_ref, article_ref)].append((public_id, reader_ref, matched, score))

    case_ids: list[int] = []
    with transaction.atomic():
        detector_lock("synthetic")
        for (publisher_ref, article_ref), rows in sorted(groups.items()):
            if len(rows) < minimum:
                continue
            reason_counts = Counter(reason for _, _, matched, _ in rows for reason in matched)
            readers = sorted({reader for _, reader, _, _ in rows if reader})
            case = case_open_detected(
                kind=FraudCaseKind.SYNTHETIC_TRAFFIC,
                publisher_ref=publisher_ref,
                subject=f"article:{article_ref}" if article_ref else "site",
                evidence={
                    "source": "synthetic",
                    "article": article_ref,
                    "sessions": len(rows),
                    "reasons": dict(reason_counts.most_common()),
                    "sample_sessions": sorted(public_id for public_id, *_ in rows)[:20],
                },
                score=round(max(score for *_, score in rows), 4),
                reader_refs=readers,
                since=since,
            )
            if case is not None:
                case_ids.append(case.pk)
    return case_ids
