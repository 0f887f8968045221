"""Compliance decisions per second on one core: the pure decision the unlock path makes
before every charge (blocks, the two-evidence rule, the VAT split), with the rulebook parsed
once per process as in the service.

    .venv/bin/python benchmarks/compliance.py [--seconds 3]

prints one JSON object. A mix of cases is cycled: declared country alone, declared + IP
(agreeing and conflicting), + time zone and language, Canadian provinces, e-publication
rates, and blocks (sanctioned IP, region, time zone). Each decision starts from the raw
inputs (the IP string, the zone name, the language tags) and includes the offline IP lookup.
Target: >= 5,000 decisions/s, so the unlock path's p99 grows by less than 1 ms; the p99 of
single decisions is reported too. No database.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paywall.settings")

import django  # noqa: E402

django.setup()

from compliance.decisions import decide, evidence_build  # noqa: E402
from compliance.rules import rulebook  # noqa: E402

TARGET_PER_S = 5_000
CASES = [
    {"declared_country": "DE"},
    {"declared_country": "DE", "ip": "85.214.132.117"},
    {"declared_country": "DE", "ip": "81.2.69.160"},
    {
        "declared_country": "FR",
        "ip": "90.0.0.1",
        "timezone": "Europe/Paris",
        "languages": ["fr-FR", "fr"],
    },
    {"declared_country": "CA", "declared_region": "CA-ON", "timezone": "America/Toronto"},
    {"declared_country": "GB", "ip": "81.2.69.160", "funding_country": "GB"},
    {"declared_country": "DE", "ip": "2.176.0.1"},
    {"declared_country": "UA", "declared_region": "UA-43"},
    {"declared_country": "JP", "ip": "126.0.0.1", "timezone": "Asia/Tokyo", "languages": ["ja-JP"]},
    {"declared_country": "US", "ip": "23.0.0.1", "timezone": "America/New_York"},
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    book = rulebook()
    on = date(2026, 12, 1)
    categories = ("standard", "e_publication")

    def one(i: int) -> str:
        case = CASES[i % len(CASES)]
        decision = decide(
            book,
            evidence_build(**case),
            amount_drops=1_190_000 + i % 1000,
            category=categories[i % 2],
            on=on,
        )
        return decision.decision

    for i in range(2_000):  # warm up (parsing caches, iptocc tables)
        one(i)
    outcomes: dict[str, int] = {}
    count = 0
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + args.seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        outcome = one(count)
        latencies.append(time.perf_counter() - t0)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        count += 1
    elapsed = time.perf_counter() - started
    per_s = count / elapsed
    latencies.sort()
    print(
        json.dumps(
            {
                "benchmark": "compliance_decisions",
                "decisions": count,
                "seconds": round(elapsed, 3),
                "decisions_per_s": round(per_s),
                "p50_us": round(statistics.median(latencies) * 1e6, 1),
                "p99_us": round(latencies[int(len(latencies) * 0.99)] * 1e6, 1),
                "outcomes": outcomes,
                "target_per_s": TARGET_PER_S,
                "meets_target": per_s >= TARGET_PER_S,
                "rulebook_version": book.version,
                "rules": len(book.rules),
                "python": platform.python_version(),
                "cpu_count": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
