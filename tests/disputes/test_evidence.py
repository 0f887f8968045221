"""Evidence is gathered for every unlock by the real code paths: the content API records each
delivery, the unlock records its fraud decision, and a dispute links to those records."""

from __future__ import annotations

import hashlib

import pytest
from django.db import DatabaseError, connection, transaction

from channels_app.models import Claim
from disputes.evidence import evidence_collect
from disputes.models import Dispute, DisputeEvidence, KeyCompromiseReport
from disputes.services.compromise import key_compromise_report
from disputes.services.filing import dispute_file
from fraud.models import RiskDecisionRecord
from paywall.models import ArticleContent, ContentDelivery
from paywall.services.content import html_sanitize
from tests.disputes.helpers import dwell, fetch, pay, unlock_of
from tests.paywall.helpers import error_code

pytestmark = pytest.mark.django_db


def test_each_delivery_is_recorded_with_its_size_and_hash(api, world) -> None:
    seat = world.seat()
    article = world.articles[0]
    result, session = pay(seat, article)
    dwell(session, article, 20)  # the teaser was on screen before the body arrived

    response = fetch(api, article, result.grant.token)

    assert response.status_code == 200
    html = response.json()["html"]
    unlock = unlock_of(seat, article)
    [row] = ContentDelivery.objects.filter(unlock=unlock)
    assert row.status == 200
    assert row.bytes == len(html.encode())
    assert row.sha256 == hashlib.sha256(html.encode()).hexdigest()
    assert row.dwell_ms_at == 20_000
    assert row.grant_id
    fetch(api, article, result.grant.token)
    assert ContentDelivery.objects.filter(unlock=unlock, status=200).count() == 2


def test_a_missing_body_and_a_server_error_are_recorded_as_failures(api, world, settings) -> None:
    seat = world.seat()
    article = world.articles[0]
    result, _ = pay(seat, article)
    unlock = unlock_of(seat, article)

    ArticleContent.objects.filter(article=article).delete()
    response = fetch(api, article, result.grant.token)
    assert response.status_code == 404 and error_code(response) == "content_not_found"

    settings.DROPGATE_FAULT_POINT = "content_serve"
    api.client.raise_request_exception = False
    response = fetch(api, article, result.grant.token)
    assert response.status_code == 500

    rows = list(
        ContentDelivery.objects.filter(unlock=unlock).values_list("status", "error_code", "bytes")
    )
    assert rows == [(404, "content_not_found", 0), (500, "server_error", 0)]


def test_a_bad_grant_records_nothing(api, world) -> None:
    seat = world.seat()
    article = world.articles[0]
    pay(seat, article)
    response = fetch(api, article, "not-a-grant")
    assert response.status_code == 401
    assert not ContentDelivery.objects.exists()


def test_deliveries_are_append_only(api, world) -> None:
    seat = world.seat()
    result, _ = pay(seat, world.articles[0])
    fetch(api, world.articles[0], result.grant.token)
    row = ContentDelivery.objects.get()
    with pytest.raises(ValueError, match="append-only"):
        row.save()
    with pytest.raises(ValueError, match="append-only"):
        ContentDelivery.objects.update(status=500)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE paywall_contentdelivery SET status = 500 WHERE id = %s", [row.pk]
            )
    assert ContentDelivery.objects.get(pk=row.pk).status == 200


def test_the_unlock_names_its_fraud_decision(world) -> None:
    seat = world.seat()
    pay(seat, world.articles[0], decision="hold", fingerprint="laptop")
    unlock = unlock_of(seat, world.articles[0])
    decision = RiskDecisionRecord.objects.get(pk=unlock.risk_decision_id)
    assert decision.action == "hold"
    assert decision.reader_ref == seat.reader.public_id


def test_a_dispute_links_the_records_and_reads_them(api, world) -> None:
    seat = world.seat()
    article, other = world.articles
    pay(seat, other, fingerprint="laptop")  # an earlier unlock on the same device
    result, session = pay(seat, article, fingerprint="laptop")
    fetch(api, article, result.grant.token)
    dwell(session, article, 240)
    unlock = unlock_of(seat, article)

    dispute = dispute_file(reader=seat.reader, unlock=unlock.pk, reason="unauthorized")

    links = DisputeEvidence.objects.get(dispute=dispute)
    assert links.claim == Claim.objects.get(pk=unlock.claim_id)
    assert links.channel is not None and links.channel.channel_id == seat.channel_id
    assert links.risk_decision_id == unlock.risk_decision_id
    assert links.telemetry_session_id == session.pk
    evidence = evidence_collect(dispute, links=links)
    assert evidence.delivered
    assert evidence.dwell_after_delivery_ms == 240_000
    assert evidence.claim_signed_by_registered_key
    assert evidence.fraud_decision == "allow"
    assert evidence.fingerprint_seen_before
    assert not evidence.key_compromise_reported_before
    assert evidence.reader_disputes_recent == 1 and evidence.reader_disputes_before == 0
    # The dispute names the records; it holds no copy of the body, claim or decision.
    field_names = {f.name for f in Dispute._meta.get_fields()}
    assert not field_names & {"signature", "sha256", "body", "score", "fingerprint_hash"}
    assert html_sanitize("<p>x</p>")  # (the body stays only in ArticleContent)


def test_a_new_device_and_a_hold_are_not_authentication(world) -> None:
    seat = world.seat()
    pay(seat, world.articles[1], fingerprint="laptop")
    pay(seat, world.articles[0], fingerprint="phone")
    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="unauthorized")
    assert not evidence_collect(dispute).fingerprint_seen_before


def test_a_compromise_report_counts_only_before_the_unlock_and_for_its_key(world) -> None:
    seat = world.seat()
    key_compromise_report(reader=seat.reader, note="lost my laptop")
    pay(seat, world.articles[0])
    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="unauthorized")
    assert evidence_collect(dispute).key_compromise_reported_before

    late = world.seat()
    pay(late, world.articles[0])
    key_compromise_report(reader=late.reader)
    dispute = dispute_file(reader=late.reader, unlock="first-story", reason="unauthorized")
    assert not evidence_collect(dispute).key_compromise_reported_before
    assert KeyCompromiseReport.objects.count() == 2


def test_grants_are_issued_and_checked_on_the_app_clock(api, world) -> None:
    """Deliveries under a moved clock (the replay's, a test's) must verify the grant the unlock
    just issued: grant times are the app clock's on both sides, never the library's wall clock."""
    from datetime import timedelta

    from channels_app import clock

    seat = world.seat()
    for offset in (timedelta(days=-200), timedelta(days=20)):
        with clock.override(offset):
            article = world.articles[0] if offset.days < 0 else world.articles[1]
            result, _ = pay(seat, article)
            assert fetch(api, article, result.grant.token).status_code == 200
    with clock.override(timedelta(days=20, seconds=301)):
        expired = fetch(api, world.articles[1], result.grant.token)
    assert expired.status_code == 401 and error_code(expired) == "grant_expired"
