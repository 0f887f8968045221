"""Payment velocity limits: per reader, channel, fingerprint and publisher, checked atomically.

Each unlock about to be charged consumes one count per minute, one per hour and its amount
per hour on every dimension it names. Windows are fixed (minute and hour buckets of the app
clock). The check and the increments are all-or-nothing: a refused attempt consumes nothing.

- With Redis as the cache (REDIS_URL set) one Lua script checks every counter and increments
  them, so concurrent web processes never both take the last slot.
- With the embedded LocMem cache a process-wide lock guards check and increment. That cache is
  per process, so the limits then hold per process, which is what the embedded single-process
  setup needs; production runs Redis.

Crossing a soft limit (DROPGATE_VELOCITY_SOFT_PERCENT of a limit) opens a `velocity` case once
per window without blocking anything. Agents (paying HTTP clients, no telemetry) have their own
reader and channel limits.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from redis.exceptions import RedisError

from channels_app import clock
from fraud.exceptions import RiskChecksUnavailable

logger = logging.getLogger(__name__)

__all__ = ["VelocityVerdict", "velocity_consume", "velocity_limits"]

WINDOWS = {"minute": 60, "hour": 3600}
# metric name -> (window, what one attempt adds)
METRICS = (("per_minute", "minute"), ("per_hour", "hour"), ("drops_per_hour", "hour"))

# name: default (0 disables a limit)
DEFAULTS: dict[str, int] = {
    "DROPGATE_VELOCITY_READER_PER_MINUTE": 60,
    "DROPGATE_VELOCITY_READER_PER_HOUR": 1_000,
    "DROPGATE_VELOCITY_READER_DROPS_PER_HOUR": 200_000_000,
    "DROPGATE_VELOCITY_CHANNEL_PER_MINUTE": 60,
    "DROPGATE_VELOCITY_CHANNEL_PER_HOUR": 1_000,
    "DROPGATE_VELOCITY_CHANNEL_DROPS_PER_HOUR": 200_000_000,
    "DROPGATE_VELOCITY_FINGERPRINT_PER_MINUTE": 120,
    "DROPGATE_VELOCITY_FINGERPRINT_PER_HOUR": 2_000,
    "DROPGATE_VELOCITY_FINGERPRINT_DROPS_PER_HOUR": 400_000_000,
    "DROPGATE_VELOCITY_PUBLISHER_PER_MINUTE": 20_000,
    "DROPGATE_VELOCITY_PUBLISHER_PER_HOUR": 500_000,
    "DROPGATE_VELOCITY_PUBLISHER_DROPS_PER_HOUR": 0,
    "DROPGATE_VELOCITY_AGENT_READER_PER_MINUTE": 300,
    "DROPGATE_VELOCITY_AGENT_READER_PER_HOUR": 10_000,
    "DROPGATE_VELOCITY_AGENT_READER_DROPS_PER_HOUR": 1_000_000_000,
    "DROPGATE_VELOCITY_AGENT_CHANNEL_PER_MINUTE": 300,
    "DROPGATE_VELOCITY_AGENT_CHANNEL_PER_HOUR": 10_000,
    "DROPGATE_VELOCITY_AGENT_CHANNEL_DROPS_PER_HOUR": 1_000_000_000,
    "DROPGATE_VELOCITY_SOFT_PERCENT": 80,
}

KEY_PREFIX = "dropgate:velocity"

# Checks every counter first; increments them all only if none would pass its limit.
# KEYS: counters. ARGV: per key (increment, limit, ttl seconds).
# Returns {0, value1, ..., valueN} when allowed, {i, current} when counter i refused.
_LUA = """
local n = #KEYS
for i = 1, n do
  local limit = tonumber(ARGV[(i - 1) * 3 + 2])
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  if current + tonumber(ARGV[(i - 1) * 3 + 1]) > limit then
    return {i, current}
  end
end
local values = {0}
for i = 1, n do
  local increment = tonumber(ARGV[(i - 1) * 3 + 1])
  local value = redis.call('INCRBY', KEYS[i], increment)
  if value == increment then
    redis.call('EXPIRE', KEYS[i], tonumber(ARGV[(i - 1) * 3 + 3]))
  end
  values[#values + 1] = value
end
return values
"""

_local_lock = threading.Lock()
_script: Any = None


@dataclass(frozen=True)
class VelocityVerdict:
    allowed: bool
    limit: str | None = None  # e.g. "reader_per_minute"
    retry_after_seconds: int = 0


@dataclass(frozen=True)
class _Counter:
    name: str  # "reader_per_minute"
    dimension: str  # "reader"
    ident: str
    key: str
    increment: int
    limit: int
    ttl: int
    retry_after: int


def _setting(name: str) -> int:
    return int(getattr(settings, name, DEFAULTS[name]))


def velocity_limits(category: str) -> dict[str, int]:
    """The limits that apply to a category, by counter name (0: none)."""
    agent = category == "agent"
    limits: dict[str, int] = {}
    for dimension in ("reader", "channel", "fingerprint", "publisher"):
        for metric, _window in METRICS:
            prefix = "AGENT_" if agent and dimension in ("reader", "channel") else ""
            limits[f"{dimension}_{metric}"] = _setting(
                f"DROPGATE_VELOCITY_{prefix}{dimension.upper()}_{metric.upper()}"
            )
    return limits


def _counters(
    *, identities: dict[str, str], category: str, amount_drops: int, epoch: int
) -> list[_Counter]:
    limits = velocity_limits(category)
    counters = []
    for dimension, ident in identities.items():
        for metric, window_name in METRICS:
            name = f"{dimension}_{metric}"
            limit = limits[name]
            increment = amount_drops if metric == "drops_per_hour" else 1
            if limit <= 0 or increment <= 0:
                continue
            window = WINDOWS[window_name]
            bucket = epoch // window
            remaining = (bucket + 1) * window - epoch
            counters.append(
                _Counter(
                    name=name,
                    dimension=dimension,
                    ident=ident,
                    key=f"{KEY_PREFIX}:{dimension}:{ident}:{metric}:{bucket}",
                    increment=increment,
                    limit=limit,
                    ttl=remaining + 5,
                    retry_after=max(1, remaining),
                )
            )
    return counters


def _consume_redis(cache: RedisCache, counters: list[_Counter]) -> tuple[int, list[int]]:
    global _script  # noqa: PLW0603 - one registered script (its SHA) per process
    client = cache._cache.get_client(write=True)
    if _script is None:
        _script = client.register_script(_LUA)
    args: list[int] = []
    for counter in counters:
        args += [counter.increment, counter.limit, counter.ttl]
    # EVALSHA on this client's pool, loading the script on NOSCRIPT (e.g. after a restart).
    raw = _script(keys=[c.key for c in counters], args=args, client=client)
    result = [int(value) for value in raw]
    if result[0] != 0:
        return result[0] - 1, []
    return -1, result[1:]


def _consume_local(cache: Any, counters: list[_Counter]) -> tuple[int, list[int]]:
    with _local_lock:
        current = cache.get_many([c.key for c in counters])
        for index, counter in enumerate(counters):
            if int(current.get(counter.key, 0)) + counter.increment > counter.limit:
                return index, []
        values = []
        for counter in counters:
            value = int(current.get(counter.key, 0)) + counter.increment
            cache.set(counter.key, value, timeout=counter.ttl)
            values.append(value)
    return -1, values


def _soft_crossings(counters: list[_Counter], values: list[int]) -> list[tuple[_Counter, int]]:
    percent = _setting("DROPGATE_VELOCITY_SOFT_PERCENT")
    if percent <= 0:
        return []
    crossed = []
    for counter, value in zip(counters, values, strict=True):
        soft = max(1, counter.limit * percent // 100)
        if value - counter.increment < soft <= value:
            crossed.append((counter, value))
    return crossed


def _open_velocity_cases(
    *, publisher_ref: str, reader_ref: str, category: str, crossed: list[tuple[_Counter, int]]
) -> None:
    from fraud.services.cases import case_open

    for counter, value in crossed:
        subject = (
            "publisher"
            if counter.dimension == "publisher"
            else f"{counter.dimension}:{counter.ident}"
        )
        try:
            case_open(
                kind="velocity",
                publisher_ref=publisher_ref,
                subject=subject,
                evidence={
                    "source": "velocity",
                    "limit": counter.name,
                    "count": value,
                    "limit_value": counter.limit,
                    "category": category,
                    "reader_ref": reader_ref,
                },
                reader_refs=[reader_ref] if reader_ref else (),
            )
        except Exception:  # a case that cannot be written must never fail the unlock
            logger.exception("could not open a velocity case for %s", counter.name)


def velocity_consume(
    *,
    publisher_ref: str,
    reader_ref: str,
    channel_id: str,
    fingerprint_hash: str | None,
    category: str,
    amount_drops: int,
) -> VelocityVerdict:
    """Consume one unlock of `amount_drops` on every limit that applies, or none of them.

    Refused: `limit` names the first limit that would be passed and `retry_after_seconds`
    when its window ends. Crossing a soft limit opens a `velocity` case after the caller's
    transaction commits (at once outside one); it never changes the verdict.
    """
    identities = {"reader": reader_ref, "channel": channel_id}
    if fingerprint_hash:
        identities["fingerprint"] = fingerprint_hash
    identities["publisher"] = publisher_ref
    identities = {dimension: ident for dimension, ident in identities.items() if ident}
    epoch = int(clock.now().timestamp())
    counters = _counters(
        identities=identities, category=category, amount_drops=max(0, amount_drops), epoch=epoch
    )
    if not counters:
        return VelocityVerdict(allowed=True)
    cache = caches[getattr(settings, "DROPGATE_VELOCITY_CACHE", "default")]
    if isinstance(cache, RedisCache):
        try:
            refused, values = _consume_redis(cache, counters)
        except RedisError as exc:
            # Fail closed: a window without velocity limits is exactly what a velocity attack
            # waits for. Nothing is charged; the client gets a 503 with a code and retries.
            logger.error("velocity limits unavailable: %s", type(exc).__name__)
            raise RiskChecksUnavailable() from exc
    else:
        refused, values = _consume_local(cache, counters)
    if refused >= 0:
        counter = counters[refused]
        return VelocityVerdict(
            allowed=False, limit=counter.name, retry_after_seconds=counter.retry_after
        )
    crossed = _soft_crossings(counters, values)
    if crossed:
        transaction.on_commit(
            lambda: _open_velocity_cases(
                publisher_ref=publisher_ref,
                reader_ref=reader_ref,
                category=category,
                crossed=crossed,
            )
        )
    return VelocityVerdict(allowed=True)
