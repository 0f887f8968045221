"""The disputes API: readers file and follow their disputes, publishers answer them.
Bad filings get clear 4xx codes and change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels_app import clock
from channels_app.models import JournalEntry
from channels_app.payouts.models import PayoutHold, ReaderCredit, Refund
from disputes.models import Appeal, Dispute, DisputeEvent, KeyCompromiseReport
from tests.disputes.helpers import PRICE, dwell, fetch, pay, unlock_of
from tests.paywall.factories import OTHER_ORIGIN
from tests.paywall.helpers import error_code

pytestmark = pytest.mark.django_db


def state() -> tuple[object, ...]:
    """Everything a filing could change."""
    return (
        list(Dispute.objects.values_list("pk", "status")),
        DisputeEvent.objects.count(),
        Refund.objects.count(),
        JournalEntry.objects.count(),
        PayoutHold.objects.count(),
        list(ReaderCredit.objects.values_list("reader_ref", "balance_drops")),
    )


def file(api, seat, unlock, reason="not_delivered", **extra):
    return api.post(
        "readers/me/disputes", {"unlock": unlock, "reason": reason, **extra}, auth=seat.auth
    )


def test_a_reader_files_and_reads_a_dispute(api, world) -> None:
    seat = world.seat()
    pay(seat, world.articles[0])  # never fetched
    unlock = unlock_of(seat, world.articles[0])

    response = file(api, seat, unlock.pk, message="The article never loaded.")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "won_by_reader" and body["outcome"] == "reader"
    assert body["tier"] == 1 and body["decided_by"] == "auto"
    assert body["reasons"] == ["delivery_missing"]
    assert body["refund"] == {
        "amount_drops": str(PRICE),
        "mode": "credit",
        "status": "credited",
        "tx_hash": None,
    }
    listed = api.get("readers/me/disputes", auth=seat.auth).json()
    assert [d["id"] for d in listed["disputes"]] == [body["id"]]
    assert listed["disputes"][0]["refund"]["amount_drops"] == str(PRICE)
    detail = api.get(f"readers/me/disputes/{body['id']}", auth=seat.auth)
    assert detail.json()["article"] == "first-story"


def test_the_unlock_may_be_named_by_its_article(api, world) -> None:
    seat = world.seat()
    result, session = pay(seat, world.articles[0])
    fetch(api, world.articles[0], result.grant.token)
    dwell(session, world.articles[0], 5)
    response = file(api, seat, "first-story", reason="accidental")
    assert response.status_code == 201
    assert response.json()["reasons"] == ["bounce"]


def test_another_readers_unlock_is_404_and_changes_nothing(api, world) -> None:
    owner, other = world.seat(), world.seat()
    pay(owner, world.articles[0])
    unlock = unlock_of(owner, world.articles[0])
    before = state()

    by_id = file(api, other, unlock.pk)
    by_slug = file(api, other, "first-story")
    unknown = file(api, other, 999_999)

    for response in (by_id, by_slug, unknown):
        assert response.status_code == 404
        assert error_code(response) == "unlock_not_found"
    assert state() == before
    assert api.get(f"readers/me/disputes/{999}", auth=other.auth).status_code == 404


def test_a_second_open_dispute_is_409_and_changes_nothing(api, world) -> None:
    seat = world.seat()
    result, session = pay(seat, world.articles[0])
    fetch(api, world.articles[0], result.grant.token)
    dwell(session, world.articles[0], 300)
    first = file(api, seat, "first-story", reason="not_as_described")
    assert first.json()["status"] == "needs_response"
    before = state()

    again = file(api, seat, "first-story", reason="accidental")

    assert again.status_code == 409 and error_code(again) == "dispute_exists"
    assert state() == before


def test_a_refunded_unlock_cannot_be_disputed_again(api, world) -> None:
    seat = world.seat()
    pay(seat, world.articles[0])
    assert file(api, seat, "first-story").json()["status"] == "won_by_reader"
    before = state()
    again = file(api, seat, "first-story", reason="accidental")
    assert again.status_code == 409 and error_code(again) == "dispute_exists"
    assert state() == before


def test_past_the_window_is_422_and_changes_nothing(api, world, settings) -> None:
    seat = world.seat()
    pay(seat, world.articles[0])
    days = settings.DROPGATE_DISPUTE_WINDOW_DAYS
    with clock.override(timedelta(days=days, seconds=-60)):
        assert file(api, seat, "first-story").status_code == 201
    other = world.seat()
    pay(other, world.articles[0])
    before = state()
    with clock.override(timedelta(days=days, seconds=60)):
        late = file(api, other, "first-story")
    assert late.status_code == 422 and error_code(late) == "dispute_window_closed"
    assert state() == before


@pytest.mark.parametrize(
    "body",
    [
        {"unlock": "first-story", "reason": "didnt_like_it"},
        {"unlock": "first-story", "reason": "accidental", "message": "x" * 2001},
        {"unlock": True, "reason": "accidental"},
        {"reason": "accidental"},
    ],
)
def test_malformed_filings_are_400_and_change_nothing(api, world, body) -> None:
    seat = world.seat()
    pay(seat, world.articles[0])
    before = state()
    response = api.post("readers/me/disputes", body, auth=seat.auth)
    assert response.status_code == 400 and error_code(response) == "invalid_request"
    assert state() == before


def test_a_message_of_2000_characters_is_fine(api, world) -> None:
    seat = world.seat()
    pay(seat, world.articles[0])
    assert file(api, seat, "first-story", message="x" * 2000).status_code == 201


def test_reader_endpoints_need_the_reader_and_its_origin(api, world) -> None:
    seat = world.seat()
    assert api.get("readers/me/disputes").status_code == 401
    response = api.get("readers/me/disputes", auth=seat.auth, origin=OTHER_ORIGIN)
    assert response.status_code == 403


def test_the_publisher_lists_and_contests_then_accepts(api, world) -> None:
    seat = world.seat()
    result, session = pay(seat, world.articles[0])
    fetch(api, world.articles[0], result.grant.token)
    dwell(session, world.articles[0], 600)
    dispute_id = file(api, seat, "first-story", reason="not_as_described", message="Thin.").json()[
        "id"
    ]

    listed = api.get("publisher/disputes", auth=world.publisher_auth, origin=None).json()
    [item] = listed["disputes"]
    assert item["status"] == "needs_response" and item["message"] == "Thin."
    assert item["reader"] == seat.reader.public_id
    assert item["due_by"] is not None
    waiting = api.get(
        "publisher/disputes", auth=world.publisher_auth, origin=None, status="needs_response"
    ).json()
    assert len(waiting["disputes"]) == 1

    no_statement = api.post(
        f"publisher/disputes/{dispute_id}/response",
        {"accept": False},
        auth=world.publisher_auth,
        origin=None,
    )
    assert no_statement.status_code == 400
    contested = api.post(
        f"publisher/disputes/{dispute_id}/response",
        {"accept": False, "statement": "The reader read it for ten minutes."},
        auth=world.publisher_auth,
        origin=None,
    )
    assert contested.status_code == 200, contested.content
    assert contested.json()["status"] == "under_review" and contested.json()["tier"] == 2
    again = api.post(
        f"publisher/disputes/{dispute_id}/response",
        {"accept": False, "statement": "Again."},
        auth=world.publisher_auth,
        origin=None,
    )
    assert again.status_code == 409 and error_code(again) == "dispute_not_awaiting_response"
    accepted = api.post(
        f"publisher/disputes/{dispute_id}/response",
        {"accept": True},
        auth=world.publisher_auth,
        origin=None,
    )
    assert accepted.json()["status"] == "won_by_reader"
    assert accepted.json()["decided_by"] == "publisher"
    assert accepted.json()["refund"]["amount_drops"] == str(PRICE)
    decided = api.post(
        f"publisher/disputes/{dispute_id}/response",
        {"accept": True},
        auth=world.publisher_auth,
        origin=None,
    )
    assert decided.status_code == 409 and error_code(decided) == "dispute_decided"


def test_another_publishers_dispute_is_404(api, world) -> None:
    from tests.disputes.helpers import World

    seat = world.seat()
    pay(seat, world.articles[0])
    dispute_id = file(api, seat, "first-story").json()["id"]
    stranger = World.create()
    assert (
        api.get("publisher/disputes", auth=stranger.publisher_auth, origin=None).json()["disputes"]
        == []
    )
    response = api.post(
        f"publisher/disputes/{dispute_id}/response",
        {"accept": True},
        auth=stranger.publisher_auth,
        origin=None,
    )
    assert response.status_code == 404 and error_code(response) == "dispute_not_found"


def test_appeals_through_the_api(api, world) -> None:
    seat = world.seat()
    result, _ = pay(seat, world.articles[0])
    fetch(api, world.articles[0], result.grant.token)
    dispute_id = file(api, seat, "first-story").json()["id"]  # delivered: the publisher's

    publisher_appeal = api.post(
        f"publisher/disputes/{dispute_id}/appeal", {}, auth=world.publisher_auth, origin=None
    )
    assert (
        publisher_appeal.status_code == 409 and error_code(publisher_appeal) == "appeal_not_needed"
    )
    appealed = api.post(
        f"readers/me/disputes/{dispute_id}/appeal", {"message": "It was blank."}, auth=seat.auth
    )
    assert appealed.status_code == 200, appealed.content
    assert appealed.json()["status"] == "under_review" and appealed.json()["appeals"] == 1
    second = api.post(f"readers/me/disputes/{dispute_id}/appeal", {}, auth=seat.auth)
    assert second.status_code == 409 and error_code(second) == "appeal_exists"
    assert Appeal.objects.count() == 1
    stranger = world.seat()
    assert (
        api.post(f"readers/me/disputes/{dispute_id}/appeal", {}, auth=stranger.auth).status_code
        == 404
    )


def test_a_reader_reports_a_key_compromise(api, world) -> None:
    seat = world.seat()
    response = api.post("readers/me/key-compromise", {"note": "stolen laptop"}, auth=seat.auth)
    assert response.status_code == 201
    assert response.json()["public_key"] == seat.key.public_key.upper()
    report = KeyCompromiseReport.objects.get()
    assert report.reader == seat.reader and report.note == "stolen laptop"
    assert (
        api.post("readers/me/key-compromise", {"note": "x" * 501}, auth=seat.auth).status_code
        == 400
    )


def test_the_schema_lists_the_dispute_endpoints(api) -> None:
    schema = api.client.get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/readers/me/disputes",
        "/api/v1/readers/me/disputes/{dispute_id}/appeal",
        "/api/v1/readers/me/key-compromise",
        "/api/v1/publisher/disputes",
        "/api/v1/publisher/disputes/{dispute_id}/response",
    ):
        assert path in schema["paths"], path
