"""The fraud admin: cases are reviewed through the services (hold, release, confirm, dismiss,
assign, note), evidence and the audit trail are read-only, nothing is added or deleted, and the
telemetry admins show scores without device or network hashes."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from fraud.models.cases import FraudCase, FraudCaseEvent
from fraud.services.cases import case_open
from tests.admin_support import admin_client
from tests.fraud.test_cases import active_holds, make_decision, make_session

pytestmark = pytest.mark.django_db

ADMIN = "/admin/fraud"


def logged_in(user: User) -> Client:
    return admin_client(user)


def reviewer(
    name: str = "reviewer",
    *,
    codenames: tuple[str, ...] = ("view_fraudcase", "change_fraudcase", "view_fraudcaseevent"),
) -> User:
    """Platform staff (they see every publisher's cases) with these fraud permissions; the
    default reviewer may also release held revenue (`payouts.release_payouthold`)."""
    user = User.objects.create_user(name, password="x", is_staff=True)
    extra = Permission.objects.filter(
        content_type__app_label="paywall", codename="view_all_publishers"
    )
    if "change_fraudcase" in codenames:
        extra |= Permission.objects.filter(
            content_type__app_label="payouts", codename="release_payouthold"
        )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="fraud", codename__in=codenames) | extra
    )
    return user


def act(client: Client, action: str, *pks: int) -> None:
    response = client.post(
        f"{ADMIN}/fraudcase/", {"action": action, "_selected_action": [str(pk) for pk in pks]}
    )
    assert response.status_code in (200, 302), response.status_code


def farming_case(hold: int = 5_000) -> FraudCase:
    return case_open(
        kind="account_farming",
        publisher_ref="pub_admin",
        subject="cluster:abc",
        evidence={
            "source": "farming",
            "shared": {"funding": [{"value": "rFundingWallet", "readers": 7}]},
        },
        score=0.9,
        hold_drops=hold,
        reader_refs=["rdr_1", "rdr_2"],
    )


def test_actions_release_hold_confirm_through_the_services() -> None:
    case = farming_case()
    user = reviewer()
    client = logged_in(user)
    # release
    act(client, "release", case.pk)
    case.refresh_from_db()
    assert case.status == "released" and not active_holds("pub_admin")
    # hold again: everything at stake
    act(client, "hold", case.pk)
    case.refresh_from_db()
    assert case.status == "holding" and [h.amount_drops for h in active_holds("pub_admin")] == [
        5_000
    ]
    # confirm: the hold stays
    act(client, "confirm", case.pk)
    case.refresh_from_db()
    assert case.status == "confirmed" and [h.amount_drops for h in active_holds("pub_admin")] == [
        5_000
    ]
    events = list(case.events.order_by("pk").values_list("action", "actor"))
    assert events[-3:] == [
        ("hold_released", user.pk),
        ("hold_placed", user.pk),
        ("confirmed", user.pk),
    ]
    # a closed case refuses further actions with a message, changing nothing
    count = FraudCaseEvent.objects.count()
    response = client.post(
        f"{ADMIN}/fraudcase/",
        {"action": "dismiss", "_selected_action": [str(case.pk)]},
        follow=True,
    )
    assert "case_closed" in response.content.decode()
    assert FraudCaseEvent.objects.count() == count


def test_dismiss_releases_the_hold() -> None:
    case = farming_case()
    act(logged_in(reviewer()), "dismiss", case.pk)
    case.refresh_from_db()
    assert case.status == "dismissed" and not active_holds("pub_admin")


def test_view_only_staff_cannot_act() -> None:
    case = farming_case()
    client = logged_in(reviewer("viewer", codenames=("view_fraudcase",)))
    assert client.get(f"{ADMIN}/fraudcase/{case.pk}/change/").status_code == 200
    client.post(f"{ADMIN}/fraudcase/", {"action": "dismiss", "_selected_action": [str(case.pk)]})
    case.refresh_from_db()
    assert case.status == "holding" and [h.amount_drops for h in active_holds("pub_admin")] == [
        5_000
    ]


def test_case_page_shows_evidence_and_trail_and_saves_only_assignee_and_note() -> None:
    case = farming_case()
    user = reviewer()
    analyst = User.objects.create_user("analyst", is_staff=True)
    client = logged_in(user)
    page = client.get(f"{ADMIN}/fraudcase/{case.pk}/change/").content.decode()
    assert "rFundingWallet" in page and "hold placed" in page and "opened" in page
    # posting the form (with a forged status) only assigns and notes, through the services
    response = client.post(
        f"{ADMIN}/fraudcase/{case.pk}/change/",
        {
            "assignee": str(analyst.pk),
            "note": "wallet funds 7 accounts",
            "status": "dismissed",
            "held_drops": "0",
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": str(case.events.count()),
            "events-MIN_NUM_FORMS": "0",
            "events-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    case.refresh_from_db()
    assert case.assignee == analyst and case.status == "holding" and case.held_drops == 5_000
    assigned, note = case.events.order_by("pk")[2:]
    assert (assigned.action, assigned.actor) == ("assigned", user)
    assert (note.action, note.details["note"]) == ("note", "wallet funds 7 accounts")


def test_cases_and_events_are_never_added_or_deleted_in_the_admin() -> None:
    case = farming_case()
    root = User.objects.create_superuser("root", "root@example.invalid", "x")
    client = logged_in(root)
    assert client.get(f"{ADMIN}/fraudcase/add/").status_code == 403
    assert client.post(f"{ADMIN}/fraudcase/{case.pk}/delete/", {"post": "yes"}).status_code == 403
    event = case.events.first()
    assert (
        client.post(f"{ADMIN}/fraudcaseevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert FraudCase.objects.filter(pk=case.pk).exists() and FraudCaseEvent.objects.count() == 2
    # filters work
    for query in (
        "kind__exact=account_farming",
        "status__exact=holding",
        "publisher_ref=pub_admin",
    ):
        assert client.get(f"{ADMIN}/fraudcase/?{query}").status_code == 200


def test_telemetry_admins_are_read_only_and_hide_hashes() -> None:
    session = make_session(
        "pub_admin", reader_ref="rdr_1", category="bot", score=0.93, reasons=["inhuman_speed"]
    )
    decision = make_decision(
        session, publisher_ref="pub_admin", reader_ref="rdr_1", article_ref="story"
    )
    client = logged_in(User.objects.create_superuser("root", "root@example.invalid", "x"))
    page = client.get(f"{ADMIN}/telemetrysession/{session.pk}/change/").content.decode()
    assert "inhuman_speed" in page and "0.93" in page
    assert session.fingerprint_hash not in page and session.network_prefix not in page
    page = client.get(f"{ADMIN}/riskdecisionrecord/{decision.pk}/change/").content.decode()
    assert "story" in page and decision.fingerprint_hash not in page
    assert client.get(f"{ADMIN}/telemetrysession/add/").status_code == 403
    assert (
        client.post(f"{ADMIN}/telemetrysession/{session.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.get(f"{ADMIN}/riskdecisionrecord/").status_code == 200
