"""Payment velocity limits: exact limits per dimension, all-or-nothing, agents apart, soft-limit
cases, and concurrency at the limit on the embedded LocMem cache and on real Redis (one Lua
script): the run's REDIS_URL, or a private redis-server when the run has none."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.cache import caches

from channels_app import clock
from fraud.exceptions import RiskChecksUnavailable
from fraud.models.cases import FraudCase
from fraud.services.velocity import velocity_consume
from tests.fixtures.redis_server import redis_url


@pytest.fixture(scope="session")
def real_redis() -> Iterator[str]:
    with redis_url() as url:
        yield url


@pytest.fixture(params=["locmem", "redis"])
def limits(request, settings):
    """A velocity cache of the parametrised kind and small, explicit limits (0: off)."""
    if request.param == "redis":
        backend = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": request.getfixturevalue("real_redis"),
        }
    else:
        backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    settings.CACHES = {**settings.CACHES, "velocity-test": {**backend, "KEY_PREFIX": "t"}}
    settings.DROPGATE_VELOCITY_CACHE = "velocity-test"
    for dimension in (
        "READER",
        "CHANNEL",
        "FINGERPRINT",
        "PUBLISHER",
        "AGENT_READER",
        "AGENT_CHANNEL",
    ):
        for metric in ("PER_MINUTE", "PER_HOUR", "DROPS_PER_HOUR"):
            setattr(settings, f"DROPGATE_VELOCITY_{dimension}_{metric}", 0)
    settings.DROPGATE_VELOCITY_SOFT_PERCENT = 0
    yield settings
    caches["velocity-test"].close()


def ids() -> dict[str, str]:
    token = secrets.token_hex(6)
    return {
        "publisher_ref": f"pub_{token}",
        "reader_ref": f"rdr_{token}",
        "channel_id": secrets.token_hex(32).upper(),
        "fingerprint_hash": secrets.token_hex(32),
    }


def consume(who: dict[str, str], *, category: str = "human", amount_drops: int = 1000, **over):
    return velocity_consume(**{**who, **over}, category=category, amount_drops=amount_drops)


def test_reader_limit_is_exact_and_resets_with_the_window(limits) -> None:
    limits.DROPGATE_VELOCITY_READER_PER_MINUTE = 3
    who = ids()
    with clock.override(timedelta(0)):
        # align to the start of a minute so the window cannot roll over mid-test
        start = clock.now()
    offset = timedelta(seconds=60 - start.second + 1)
    with clock.override(offset):
        verdicts = [consume(who) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    refused = verdicts[3]
    assert refused.limit == "reader_per_minute" and 1 <= refused.retry_after_seconds <= 60
    with clock.override(offset + timedelta(seconds=61)):
        assert consume(who).allowed


def test_a_refused_attempt_consumes_no_counter(limits) -> None:
    # given a reader limit of 5 and a channel limit of 7 per minute
    limits.DROPGATE_VELOCITY_READER_PER_MINUTE = 5
    limits.DROPGATE_VELOCITY_CHANNEL_PER_MINUTE = 7
    alice = ids()
    bob = {**ids(), "channel_id": alice["channel_id"], "publisher_ref": alice["publisher_ref"]}
    # when alice makes 5 allowed and 10 refused attempts on the channel
    outcomes = [consume(alice) for _ in range(15)]
    assert sum(v.allowed for v in outcomes) == 5
    assert {v.limit for v in outcomes if not v.allowed} == {"reader_per_minute"}
    # then the channel counted only her 5: bob gets exactly the 2 left
    bob_outcomes = [consume(bob) for _ in range(4)]
    assert [v.allowed for v in bob_outcomes] == [True, True, False, False]
    assert bob_outcomes[2].limit == "channel_per_minute"


def test_drops_per_hour_count_the_amount(limits) -> None:
    limits.DROPGATE_VELOCITY_FINGERPRINT_DROPS_PER_HOUR = 10_000
    who = ids()
    assert consume(who, amount_drops=6_000).allowed
    refused = consume(who, amount_drops=5_000)
    assert not refused.allowed and refused.limit == "fingerprint_drops_per_hour"
    assert refused.retry_after_seconds <= 3600
    assert consume(who, amount_drops=4_000).allowed  # the refused 5000 were not counted
    assert not consume(who, amount_drops=1).allowed
    # another device of the same reader is not limited by this fingerprint's budget
    assert consume(who, fingerprint_hash=secrets.token_hex(32), amount_drops=9_000).allowed


def test_agents_have_their_own_limits(limits) -> None:
    limits.DROPGATE_VELOCITY_READER_PER_MINUTE = 2
    limits.DROPGATE_VELOCITY_AGENT_READER_PER_MINUTE = 4
    agent, human = ids(), ids()
    agent_outcomes = [consume(agent, category="agent", fingerprint_hash=None) for _ in range(5)]
    human_outcomes = [consume(human) for _ in range(3)]
    assert [v.allowed for v in agent_outcomes] == [True] * 4 + [False]
    assert [v.allowed for v in human_outcomes] == [True, True, False]


def test_publisher_limit_covers_all_its_readers(limits) -> None:
    limits.DROPGATE_VELOCITY_PUBLISHER_PER_HOUR = 3
    publisher = ids()["publisher_ref"]
    outcomes = [consume({**ids(), "publisher_ref": publisher}) for _ in range(4)]
    assert [v.allowed for v in outcomes] == [True, True, True, False]
    assert outcomes[-1].limit == "publisher_per_hour"
    assert consume(ids()).allowed  # another publisher is unaffected


@pytest.mark.parametrize("threads", [40])
def test_concurrent_attempts_get_exactly_the_limit(limits, threads: int) -> None:
    limits.DROPGATE_VELOCITY_READER_PER_MINUTE = 10
    limits.DROPGATE_VELOCITY_CHANNEL_PER_MINUTE = 1000
    who = ids()
    barrier = threading.Barrier(threads)
    results: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        verdict = consume(who)
        with lock:
            results.append(verdict.allowed)

    with clock.override(timedelta(0)):
        now = clock.now()
    # stay inside one minute window
    offset = timedelta(seconds=(60 - now.second + 1) if now.second > 50 else 0)
    with clock.override(offset):
        workers = [threading.Thread(target=attempt) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert results.count(True) == 10 and results.count(False) == threads - 10
        # the channel counter holds exactly the allowed attempts: 990 more fit, not 991
        limits.DROPGATE_VELOCITY_READER_PER_MINUTE = 0
        limits.DROPGATE_VELOCITY_CHANNEL_PER_MINUTE = 11
        other = {**ids(), "channel_id": who["channel_id"]}
        assert consume(other).allowed
        assert not consume(other).allowed


@pytest.mark.django_db
def test_crossing_the_soft_limit_opens_one_velocity_case(
    limits, django_capture_on_commit_callbacks
) -> None:
    limits.DROPGATE_VELOCITY_READER_PER_MINUTE = 10
    limits.DROPGATE_VELOCITY_SOFT_PERCENT = 80
    who = ids()
    with clock.override(timedelta(0)):
        now = clock.now()
    offset = timedelta(seconds=(60 - now.second + 1) if now.second > 50 else 0)
    with clock.override(offset):
        with django_capture_on_commit_callbacks(execute=True):
            outcomes = [consume(who) for _ in range(7)]
        assert all(v.allowed for v in outcomes) and not FraudCase.objects.exists()
        with django_capture_on_commit_callbacks(execute=True):
            outcomes = [consume(who) for _ in range(5)]
    # the 8th attempt crossed 80% and opened a case; the 11th and 12th were refused
    assert [v.allowed for v in outcomes] == [True, True, True, False, False]
    case = FraudCase.objects.get()
    assert (case.kind, case.publisher_ref, case.subject, case.status) == (
        "velocity",
        who["publisher_ref"],
        f"reader:{who['reader_ref']}",
        "open",
    )
    assert len(case.evidence) == 1 and case.evidence[0]["count"] == 8
    assert case.reader_refs == [who["reader_ref"]] and case.held_drops == 0


def test_an_unreachable_redis_fails_closed_with_a_503_code(settings) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "velocity-down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    settings.DROPGATE_VELOCITY_CACHE = "velocity-down"
    settings.DROPGATE_VELOCITY_READER_PER_MINUTE = 1
    who = ids()
    with pytest.raises(RiskChecksUnavailable) as raised:
        consume(who)
    assert (raised.value.http_status, raised.value.code) == (503, "risk_checks_unavailable")
