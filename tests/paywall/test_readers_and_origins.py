"""Reader registration, reader tokens, Origin enforcement and per-publisher CORS."""

from __future__ import annotations

import pytest

from paywall.models import Publisher, Reader
from paywall.services.exceptions import ReaderTokenInvalid
from paywall.services.readers import reader_authenticate
from tests.channels_app.factories import claim_key
from tests.paywall.factories import (
    ORIGIN,
    OTHER_ORIGIN,
    make_article,
    make_publisher,
    make_reader,
    registration_body,
)
from tests.paywall.helpers import error_code

pytestmark = pytest.mark.django_db

ACAO = "Access-Control-Allow-Origin"


# --- Readers ---------------------------------------------------------------------------------


def test_reader_is_created_with_a_pseudonymous_id_and_a_token_shown_once(api) -> None:
    publisher = make_publisher()
    key = claim_key()
    body = registration_body(publisher, key)
    response = api.post(
        "readers",
        {**body, "claim_public_key": key.public_key.lower()},
        headers={"X-Dropgate-Publisher": publisher.key},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reader_id"].startswith("rdr_")
    assert body["reader_token"].startswith("rdt_")
    reader = Reader.objects.get(public_id=body["reader_id"])
    assert reader.publisher == publisher
    assert reader.claim_public_key == key.public_key.upper()
    secret = body["reader_token"].split("_", 2)[2]
    assert secret not in reader.token_hash
    assert reader_authenticate(token=body["reader_token"]) == reader


def test_the_publisher_may_be_given_in_the_body(api) -> None:
    publisher = make_publisher()
    response = api.post("readers", {"publisher": publisher.key, **registration_body(publisher)})
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "key",
    ["", "ED" + "00" * 31, "04" + "11" * 32, "ZZ" + "00" * 32, "ED" + "0" * 63 + "G"],
)
def test_a_bad_claim_key_is_400_and_creates_nothing(api, key) -> None:
    publisher = make_publisher()
    response = api.post(
        "readers", {"claim_public_key": key}, headers={"X-Dropgate-Publisher": publisher.key}
    )
    assert response.status_code == 400
    assert error_code(response) in {"invalid_public_key", "invalid_request"}
    assert Reader.objects.count() == 0


def test_missing_fields_are_400_invalid_request(api) -> None:
    publisher = make_publisher()
    response = api.post("readers", {}, headers={"X-Dropgate-Publisher": publisher.key})
    assert response.status_code == 400
    assert error_code(response) == "invalid_request"
    assert "claim_public_key" in response.json()["error"]["fields"]
    no_publisher = api.post("readers", {"claim_public_key": claim_key().public_key})
    assert no_publisher.status_code == 400
    assert error_code(no_publisher) == "invalid_request"
    assert Reader.objects.count() == 0


def test_malformed_json_is_400_and_still_readable_by_the_site(api) -> None:
    publisher = make_publisher()
    response = api.post("readers", raw="{not json", headers={"X-Dropgate-Publisher": publisher.key})
    assert response.status_code == 400
    assert error_code(response) == "malformed_json"
    assert response[ACAO] == ORIGIN
    assert Reader.objects.count() == 0


def test_unknown_publisher_is_404(api) -> None:
    response = api.post(
        "readers",
        {"claim_public_key": claim_key().public_key},
        headers={"X-Dropgate-Publisher": "pub_nosuchpublisher"},
    )
    assert response.status_code == 404
    assert error_code(response) == "publisher_not_found"
    assert Reader.objects.count() == 0


def test_header_and_body_must_agree_on_the_publisher(api) -> None:
    publisher, other = make_publisher(), make_publisher(name="Other")
    response = api.post(
        "readers",
        {"publisher": other.key, "claim_public_key": claim_key().public_key},
        headers={"X-Dropgate-Publisher": publisher.key},
    )
    assert response.status_code == 403
    assert error_code(response) == "publisher_mismatch"
    assert Reader.objects.count() == 0


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + "xx",
        lambda t: t.replace("rdt_", "rdr_"),
        lambda t: "rdt_" + "0" * 24 + "_" + t.split("_", 2)[2],
    ],
)
def test_wrong_reader_tokens_are_refused(mangle) -> None:
    _, token, _ = make_reader(make_publisher())
    with pytest.raises(ReaderTokenInvalid):
        reader_authenticate(token=mangle(token))


def test_reader_endpoints_need_a_valid_token(api) -> None:
    publisher = make_publisher()
    _, token, _ = make_reader(publisher)
    missing = api.post("unlocks", {"article": "x"})
    assert missing.status_code == 401
    assert error_code(missing) == "not_authenticated"
    assert missing["WWW-Authenticate"].startswith("Reader")
    wrong = api.post("unlocks", {"article": "x"}, auth=f"Reader {token}x")
    assert wrong.status_code == 401
    assert error_code(wrong) == "reader_token_invalid"
    malformed = api.post("unlocks", {"article": "x"}, auth="Reader a b")
    assert malformed.status_code == 401
    assert error_code(malformed) == "authorization_malformed"


# --- Origins ---------------------------------------------------------------------------------


def reader_facing_calls(api, publisher: Publisher, token: str):
    """Every reader-facing endpoint, as a function of the Origin it is called from."""
    make_article(publisher, slug="story")
    body = registration_body(publisher)
    return {
        "config": lambda o: api.get("config", origin=o, publisher=publisher.key),
        "challenge": lambda o: api.get("readers/challenge", origin=o, publisher=publisher.key),
        "teaser": lambda o: api.get(f"publishers/{publisher.key}/articles/story", origin=o),
        "readers": lambda o: api.post("readers", {"publisher": publisher.key, **body}, origin=o),
        "channel": lambda o: api.get("channels/" + "AB" * 32, origin=o, auth=f"Reader {token}"),
        "channels": lambda o: api.post(
            "channels", {"channel_id": "AB" * 32}, origin=o, auth=f"Reader {token}"
        ),
        "unlocks": lambda o: api.post(
            "unlocks", {"article": "story"}, origin=o, auth=f"Reader {token}"
        ),
        "content": lambda o: api.get(
            f"content/{publisher.key}/story", origin=o, auth="Bearer not-a-grant"
        ),
    }


@pytest.mark.parametrize(
    "endpoint",
    ["config", "teaser", "challenge", "readers", "channel", "channels", "unlocks", "content"],
)
@pytest.mark.parametrize(
    "origin", [OTHER_ORIGIN, None, "null", ORIGIN + "/", "https://127.0.0.1:8001"]
)
def test_reader_facing_endpoints_refuse_other_origins(api, endpoint, origin) -> None:
    publisher = make_publisher()
    _, token, _ = make_reader(publisher)
    readers_before = Reader.objects.count()
    response = reader_facing_calls(api, publisher, token)[endpoint](origin)
    assert response.status_code == 403, response.content
    assert error_code(response) == "origin_not_allowed"
    assert ACAO not in response
    assert Reader.objects.count() == readers_before


def test_an_origin_of_one_publisher_is_refused_for_another(api) -> None:
    make_publisher(origins=(OTHER_ORIGIN,))
    publisher = make_publisher()
    response = api.get("config", origin=OTHER_ORIGIN, publisher=publisher.key)
    assert response.status_code == 403
    assert error_code(response) == "origin_not_allowed"
    assert ACAO not in response


def test_cors_headers_only_for_the_publishers_own_origins(api) -> None:
    publisher = make_publisher(origins=(ORIGIN, "https://news.example"))
    make_article(publisher, slug="story")
    for origin in (ORIGIN, "https://news.example"):
        response = api.get(f"publishers/{publisher.key}/articles/story", origin=origin)
        assert response.status_code == 200
        assert response[ACAO] == origin
        assert "Access-Control-Allow-Credentials" not in response
        assert "Origin" in response["Vary"]


def test_an_inactive_publisher_is_refused(api) -> None:
    publisher = make_publisher()
    Publisher.objects.filter(pk=publisher.pk).update(is_active=False)
    response = api.get("config", publisher=publisher.key)
    assert response.status_code == 403
    assert error_code(response) == "publisher_inactive"
    assert ACAO not in response


def preflight(client, path: str, origin: str, headers: str = "authorization,content-type"):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_preflight_is_answered_for_registered_origins_only(client) -> None:
    publisher = make_publisher()
    make_publisher(name="Elsewhere", origins=("https://elsewhere.example",))
    allowed = preflight(client, "/api/v1/unlocks", ORIGIN)
    assert allowed.status_code == 200
    assert allowed[ACAO] == ORIGIN
    assert "authorization" in allowed["Access-Control-Allow-Headers"]
    refused = preflight(client, "/api/v1/unlocks", OTHER_ORIGIN)
    assert ACAO not in refused
    # A preflight whose URL names the publisher is decided by that publisher alone.
    path = f"/api/v1/publishers/{publisher.key}/articles/story"
    assert preflight(client, path, ORIGIN)[ACAO] == ORIGIN
    assert ACAO not in preflight(client, path, "https://elsewhere.example")


def test_cors_is_never_enabled_outside_the_api(client) -> None:
    make_publisher()
    response = client.get("/admin/login/", headers={"Origin": ORIGIN})
    assert ACAO not in response
