"""Account farming: many readers (or channels) that share devices, funding accounts or networks.

The detector builds a bipartite graph of readers and the attributes they were seen with over
the last DROPGATE_FARMING_WINDOW_DAYS:

- `fingerprint`: the device fingerprint hash of their telemetry sessions and risk decisions;
- `funding`: the XRPL account that funded their payment channels (Channel.source_address);
- `network`: the keyed hash of their /24 or /48 network prefix.

An attribute joins the graph only when enough distinct readers share it (per kind; a family
computer or one shared wallet between two people stays below the thresholds), and a network
prefix only when the readers behind it also show few distinct devices (a carrier's NAT has
many readers on many devices). Connected components (networkx) with at least
DROPGATE_FARMING_MIN_CLUSTER_READERS readers are farms: each becomes, per publisher those
readers paid or read, an `account_farming` case with the shared attributes, the members and the
revenue at stake, which is held for review. Reruns update the same cases (a cluster is matched
to the open case whose readers it overlaps) and hold only revenue not yet held.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import networkx as nx
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from channels_app import clock
from channels_app.models import Channel, ChannelStatus, Claim
from fraud.lock_objects import detector_lock
from fraud.models.cases import OPEN_CASE_STATUSES, FraudCase, FraudCaseKind
from fraud.models.telemetry import RiskDecisionRecord, TelemetrySession
from fraud.services.cases import case_open_detected

__all__ = ["FarmingCluster", "FarmingReport", "farming_clusters", "farming_scan"]

ATTRIBUTE_KINDS = ("fingerprint", "funding", "network")


@dataclass(frozen=True)
class FarmingCluster:
    readers: tuple[str, ...]
    # kind -> [(value, readers sharing it)], values shortened for the evidence
    shared: dict[str, list[tuple[str, int]]]
    channels: tuple[str, ...]
    publishers: tuple[str, ...]

    @property
    def key(self) -> str:
        attributes = sorted(
            f"{kind}:{value}" for kind, rows in self.shared.items() for value, _ in rows
        )
        return hashlib.sha256("\n".join(attributes).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FarmingReport:
    clusters: list[FarmingCluster] = field(default_factory=list)
    case_ids: list[int] = field(default_factory=list)


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


@dataclass
class _Observations:
    attributes: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    fingerprints: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    channels: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    publishers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def see(self, reader: str, kind: str, value: str) -> None:
        if reader and value:
            self.attributes[(kind, value)].add(reader)
            if kind == "fingerprint":
                self.fingerprints[reader].add(value)


def _observe(since: datetime) -> _Observations:
    seen = _Observations()
    sessions = TelemetrySession.objects.filter(updated_at__gte=since).exclude(reader_ref="")
    for reader, fingerprint, prefix, publisher in sessions.values_list(
        "reader_ref", "fingerprint_hash", "network_prefix", "publisher_ref"
    ).iterator():
        seen.see(reader, "fingerprint", fingerprint)
        seen.see(reader, "network", prefix)
        seen.publishers[reader].add(publisher)
    decisions = RiskDecisionRecord.objects.filter(created_at__gte=since).exclude(reader_ref="")
    for reader, fingerprint, prefix, publisher, channel_id in decisions.values_list(
        "reader_ref", "fingerprint_hash", "network_prefix", "publisher_ref", "channel_id"
    ).iterator():
        seen.see(reader, "fingerprint", fingerprint)
        seen.see(reader, "network", prefix)
        seen.publishers[reader].add(publisher)
        if channel_id:
            seen.channels[reader].add(channel_id)
    channels = Channel.objects.filter(
        Q(registered_at__gte=since) | ~Q(status=ChannelStatus.CLOSED)
    ).exclude(owner_ref="")
    for reader, source, channel_id in channels.values_list(
        "owner_ref", "source_address", "channel_id"
    ).iterator():
        seen.see(reader, "funding", source)
        seen.channels[reader].add(channel_id)
    return seen


def _qualifies(seen: _Observations, kind: str, readers: set[str]) -> bool:
    if kind == "fingerprint":
        return len(readers) >= _setting("DROPGATE_FARMING_FINGERPRINT_MIN_READERS", 3)
    if kind == "funding":
        return len(readers) >= _setting("DROPGATE_FARMING_FUNDING_MIN_READERS", 2)
    if len(readers) < _setting("DROPGATE_FARMING_NETWORK_MIN_READERS", 12):
        return False
    # Many readers behind one network are normal (NAT, offices); on few devices they are not.
    devices = set().union(*(seen.fingerprints.get(reader, set()) for reader in readers))
    return len(devices) * 2 <= len(readers)


def farming_clusters(*, now: datetime | None = None) -> list[FarmingCluster]:
    """The farming clusters of the window ending `now` (pure read)."""
    now = now or clock.now()
    since = now - timedelta(days=_setting("DROPGATE_FARMING_WINDOW_DAYS", 14))
    seen = _observe(since)
    graph = nx.Graph()
    for (kind, value), readers in seen.attributes.items():
        if _qualifies(seen, kind, readers):
            node = ("attribute", kind, value)
            graph.add_edges_from((node, ("reader", reader)) for reader in readers)
    minimum = _setting("DROPGATE_FARMING_MIN_CLUSTER_READERS", 5)
    clusters = []
    for component in nx.connected_components(graph):
        members = sorted(node[1] for node in component if node[0] == "reader")
        if len(members) < minimum:
            continue
        shared: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for node in sorted(n for n in component if n[0] == "attribute"):
            shared[node[1]].append((node[2], graph.degree(node)))
        clusters.append(
            FarmingCluster(
                readers=tuple(members),
                shared=dict(shared),
                channels=tuple(sorted(set().union(*(seen.channels[r] for r in members)))),
                publishers=tuple(sorted(set().union(*(seen.publishers[r] for r in members)))),
            )
        )
    return clusters


def _paid_publishers(readers: tuple[str, ...], since: datetime) -> set[str]:
    return set(
        Claim.objects.filter(channel__owner_ref__in=readers, accepted_at__gte=since)
        .values_list("payee_ref", flat=True)
        .distinct()
    )


def _subject(cluster: FarmingCluster, publisher_ref: str) -> str:
    """The open case this cluster continues (most shared readers), else a new subject."""
    members = set(cluster.readers)
    best, overlap = None, 0
    for subject, readers in FraudCase.objects.filter(
        kind=FraudCaseKind.ACCOUNT_FARMING,
        publisher_ref=publisher_ref,
        status__in=OPEN_CASE_STATUSES,
    ).values_list("subject", "reader_refs"):
        common = len(members & set(readers))
        if common > overlap:
            best, overlap = subject, common
    return best or f"cluster:{cluster.key}"


def _score(cluster: FarmingCluster) -> float:
    minimum = _setting("DROPGATE_FARMING_MIN_CLUSTER_READERS", 5)
    score = 0.6 + 0.04 * (len(cluster.readers) - minimum)
    if "funding" in cluster.shared:
        score += 0.2
    return round(min(1.0, score), 3)


def farming_scan(*, now: datetime | None = None) -> FarmingReport:
    """Find farming clusters and open or update their cases (one per cluster and publisher),
    holding each publisher's revenue from the cluster's readers. Idempotent."""
    now = now or clock.now()
    since = now - timedelta(days=_setting("DROPGATE_FARMING_WINDOW_DAYS", 14))
    clusters = farming_clusters(now=now)
    case_ids: list[int] = []
    with transaction.atomic():
        detector_lock("farming")
        for cluster in clusters:
            publishers = set(cluster.publishers) | _paid_publishers(cluster.readers, since)
            for publisher_ref in sorted(publishers):
                evidence = {
                    "source": "farming",
                    "readers": len(cluster.readers),
                    "channels": len(cluster.channels),
                    "shared": {
                        kind: [{"value": value[:16], "readers": count} for value, count in rows]
                        for kind, rows in cluster.shared.items()
                    },
                    "members": list(cluster.readers[:100]),
                }
                case = case_open_detected(
                    kind=FraudCaseKind.ACCOUNT_FARMING,
                    publisher_ref=publisher_ref,
                    subject=_subject(cluster, publisher_ref),
                    evidence=evidence,
                    score=_score(cluster),
                    reader_refs=cluster.readers,
                    since=since,
                )
                if case is not None:
                    case_ids.append(case.pk)
    return FarmingReport(clusters=clusters, case_ids=case_ids)
