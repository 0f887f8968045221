"""The replay's input: parsed and checked before anything runs (pure; no Django).

```json
{"start": "2026-03-02T09:00:00Z",
 "articles": [{"ref": "a1", "price_drops": 200000, "words": 900}],
 "readers": [{"ref": "r1"}],
 "events": [{"after": "0s", "do": "unlock", "ref": "u1", "reader": "r1", "article": "a1",
             "delivery": "ok", "dwell_seconds": 240, "fraud_decision": "allow",
             "fingerprint": "f1"}, …]}
```

`after` is relative to the previous event: one or more `<n><unit>` with unit s, m, h or d.
Events (`do`): unlock, dispute, respond, decide, appeal, escalate, ask_publisher,
report_key_compromise, settle, close_channel, wait. Articles may name a `publisher` (a ref;
one default publisher otherwise). A malformed scenario raises ScenarioError: nothing runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["DELIVERIES", "EVENT_KINDS", "FRAUD_DECISIONS", "Scenario", "ScenarioError", "parse"]

EVENT_KINDS = frozenset(
    {
        "unlock",
        "dispute",
        "respond",
        "decide",
        "appeal",
        "escalate",
        "ask_publisher",
        "report_key_compromise",
        "settle",
        "close_channel",
        "wait",
    }
)
DELIVERIES = frozenset({"ok", "server_error", "not_fetched"})
# `agent`: the unlock names no telemetry session (an HTTP client paying), so no fingerprint
# and no dwell: fraud allows it as an agent.
FRAUD_DECISIONS = frozenset({"allow", "hold", "challenge", "refuse", "agent"})
DEFAULT_PUBLISHER = "publisher"
_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_REF = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class ScenarioError(ValueError):
    pass


def parse_duration(text: Any) -> timedelta:
    """`"90s"`, `"2m"`, `"1d12h"` → timedelta. ScenarioError otherwise."""
    if not isinstance(text, str) or not text:
        raise ScenarioError(f"`after` must be a duration such as 2m or 3d, not {text!r}")
    position, seconds = 0, 0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        seconds += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text):
        raise ScenarioError(f"`after` must be a duration such as 2m or 3d, not {text!r}")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Article:
    ref: str
    price_drops: int
    words: int
    publisher: str


@dataclass(frozen=True)
class Event:
    index: int
    after: timedelta
    do: str
    fields: dict[str, Any]

    @property
    def label(self) -> str:
        """What an error names: the event's own ref, else the dispute, unlock or reader it is
        about, else its position."""
        for key in ("ref", "dispute", "unlock", "reader"):
            value = self.fields.get(key)
            if isinstance(value, str) and value:
                return value
        return f"#{self.index}"


@dataclass(frozen=True)
class Scenario:
    start: datetime
    articles: dict[str, Article]
    readers: tuple[str, ...]
    events: tuple[Event, ...]
    publishers: tuple[str, ...] = field(default=())


def _ref(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _REF.match(value):
        raise ScenarioError(f"{what} must be a short name (letters, digits, _ or -), not {value!r}")
    return value


def _int(value: Any, what: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ScenarioError(f"{what} must be a whole number of at least {low}, not {value!r}")
    return value


def parse(data: Any) -> Scenario:
    """Check and parse a scenario (the JSON already decoded)."""
    if not isinstance(data, dict):
        raise ScenarioError("A scenario is a JSON object.")
    start_text = data.get("start", "")
    try:
        start = datetime.fromisoformat(str(start_text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ScenarioError(f"`start` must be an ISO 8601 time, not {start_text!r}") from exc
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    articles: dict[str, Article] = {}
    for item in data.get("articles") or []:
        if not isinstance(item, dict):
            raise ScenarioError("Each article is an object.")
        ref = _ref(item.get("ref"), "an article's ref")
        if ref in articles:
            raise ScenarioError(f"article {ref} is listed twice")
        articles[ref] = Article(
            ref=ref,
            price_drops=_int(item.get("price_drops"), f"article {ref}'s price_drops", low=1),
            words=_int(item.get("words", 600), f"article {ref}'s words"),
            publisher=_ref(item.get("publisher", DEFAULT_PUBLISHER), f"article {ref}'s publisher"),
        )
    readers: list[str] = []
    for item in data.get("readers") or []:
        if not isinstance(item, dict):
            raise ScenarioError("Each reader is an object.")
        ref = _ref(item.get("ref"), "a reader's ref")
        if ref in readers:
            raise ScenarioError(f"reader {ref} is listed twice")
        readers.append(ref)
    events: list[Event] = []
    raw_events = data.get("events") or []
    if not isinstance(raw_events, list):
        raise ScenarioError("`events` is a list.")
    for index, item in enumerate(raw_events):
        if not isinstance(item, dict):
            raise ScenarioError(f"event {index} is not an object")
        do = item.get("do")
        if do not in EVENT_KINDS:
            raise ScenarioError(f"event {index}: `do` must be one of {sorted(EVENT_KINDS)}")
        if do == "unlock":
            delivery = item.get("delivery", "ok")
            if delivery not in DELIVERIES:
                raise ScenarioError(f"event {index}: delivery must be one of {sorted(DELIVERIES)}")
            decision = item.get("fraud_decision", "allow")
            if decision not in FRAUD_DECISIONS:
                raise ScenarioError(
                    f"event {index}: fraud_decision must be one of {sorted(FRAUD_DECISIONS)}"
                )
            if "dwell_seconds" in item:
                _int(item["dwell_seconds"], f"event {index}'s dwell_seconds")
        events.append(
            Event(
                index=index,
                after=parse_duration(item.get("after", "0s")),
                do=str(do),
                fields={k: v for k, v in item.items() if k not in ("after", "do")},
            )
        )
    publishers = tuple(dict.fromkeys(a.publisher for a in articles.values())) or (
        DEFAULT_PUBLISHER,
    )
    return Scenario(
        start=start,
        articles=articles,
        readers=tuple(readers),
        events=tuple(events),
        publishers=publishers,
    )
