"""A dependency that is down is a 503 with a stable code, on every operation.

Found by benchmarks/faults.py: while Redis (the cache behind the throttles) restarted, every
reader request answered 500 `internal_error`; and a 503 `database_unavailable` during a
PostgreSQL restart came from operations whose schema did not document a 503.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from tests.channels_app.factories import make_channel
from tests.paywall.factories import make_article, make_publisher, make_reader
from tests.paywall.helpers import error_code

pytestmark = pytest.mark.django_db

DOWN_REDIS = "redis://127.0.0.1:9/0"  # the discard port: nothing listens


@pytest.fixture
def reader_setup():
    publisher = make_publisher()
    article = make_article(publisher, price_drops=1_000)
    reader, token, key = make_reader(publisher)
    channel = make_channel(key=key, owner_ref=reader.public_id)
    return article, f"Reader {token}", key, channel


@pytest.fixture
def cache_down() -> Iterator[None]:
    # Its own override (restored before the suite's cache-clearing fixture tears down).
    down = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DOWN_REDIS}
    with override_settings(CACHES={"default": down}):
        yield


def test_an_unlock_with_the_cache_down_is_503_cache_unavailable(
    api, reader_setup, cache_down
) -> None:
    article, auth, key, channel = reader_setup
    amount = 1_000
    body = {
        "article": article.slug,
        "claim": {
            "channel_id": channel.channel_id,
            "amount_drops": str(amount),
            "signature": key.sign(channel.channel_id, amount),
        },
    }
    response = api.post("unlocks", body, auth=auth)
    assert response.status_code == 503, response.content
    assert error_code(response) == "cache_unavailable"
    assert response["Retry-After"]
    channel.refresh_from_db()
    assert channel.accepted_drops == 0  # nothing charged


def test_a_channel_read_with_the_cache_down_is_503_cache_unavailable(
    api, reader_setup, cache_down
) -> None:
    _, auth, _, channel = reader_setup
    response = api.get(f"channels/{channel.channel_id}", auth=auth)
    assert response.status_code == 503, response.content
    assert error_code(response) == "cache_unavailable"


def test_every_operation_documents_the_dependency_503(client) -> None:
    schema = client.get("/api/schema/?format=json").json()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in {"get", "post", "put", "patch", "delete"}
        and path.startswith("/api/v1/")
        and "503" not in operation.get("responses", {})
    ]
    assert missing == []
