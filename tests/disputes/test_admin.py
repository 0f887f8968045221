"""The admin: a queue ordered by SLA deadline, the evidence on one page, decide / escalate /
ask the publisher (staff with `disputes.decide_dispute` only), the report page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from channels_app import clock
from disputes.models import Dispute, EvidenceBundle
from disputes.services.filing import dispute_file
from disputes.services.review import dispute_decide
from tests.admin_support import admin_client as signed_in
from tests.admin_support import staff_user
from tests.disputes.helpers import dwell, fetch, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    return signed_in(staff_user("root", superuser=True))


def staff(client: Client, name: str, *, decide: bool) -> Client:
    user = get_user_model().objects.create_user(username=name, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dispute"))
    # platform staff: disputes are decided by the platform, never by a publisher's staff
    user.user_permissions.add(Permission.objects.get(codename="view_all_publishers"))
    if decide:
        user.user_permissions.add(Permission.objects.get(codename="decide_dispute"))
    return signed_in(user)


def review(client: Client, dispute: Dispute, **data: str):
    """POST the dispute's change form as a browser would (with the inlines' management forms)."""
    url = f"/admin/disputes/dispute/{dispute.pk}/change/"
    page = client.get(url)
    form: dict[str, str] = {}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name, value in management.initial.items():
            form[f"{management.prefix}-{name}"] = str(value)
    form.update(data)
    return client.post(url, form)


@pytest.fixture
def queue(api, world):
    """A content dispute waiting for the publisher (due in 7 days) and a fraud dispute in the
    queue (due in 14 days, filed first)."""
    first, second = world.seat(), world.seat()
    pay(first, world.articles[0], decision="hold")
    fraud = dispute_file(reader=first.reader, unlock="first-story", reason="unauthorized")
    result, session = pay(second, world.articles[0])
    fetch(api, world.articles[0], result.grant.token)
    dwell(session, world.articles[0], 120)
    with clock.override(timedelta(minutes=5)):
        content = dispute_file(reader=second.reader, unlock="first-story", reason="accidental")
    return fraud, content


def test_the_queue_is_ordered_by_deadline(admin_client, queue) -> None:
    fraud, content = queue
    response = admin_client.get("/admin/disputes/dispute/")
    assert response.status_code == 200
    rows = [obj.pk for obj in response.context["cl"].result_list]
    assert rows == [content.pk, fraud.pk]  # 7 days before 14 days
    assert b"Report" in response.content


def test_the_evidence_is_on_one_page(admin_client, queue) -> None:
    _fraud, content = queue
    response = admin_client.get(f"/admin/disputes/dispute/{content.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    delivery = content.unlock.deliveries.get()
    assert delivery.sha256 in page
    assert "signed by the registered key" in page and "yes (verified now)" in page
    assert "after delivery 120000 ms" in page
    assert "behaviour" in page and "read" in page


def test_a_reviewer_decides_with_the_minutes_spent(admin_client, queue) -> None:
    fraud, _content = queue
    missing = review(admin_client, fraud, review_action="decide_reader", note="x")
    assert missing.status_code == 200 and "minutes" in missing.context["adminform"].form.errors
    assert Dispute.objects.get(pk=fraud.pk).status == "under_review"
    done = review(admin_client, fraud, review_action="decide_reader", minutes="4", note="ok")
    assert done.status_code == 302
    fraud.refresh_from_db()
    assert (fraud.status, fraud.decided_by, fraud.review_minutes) == (
        "won_by_reader",
        "reviewer:root",
        4,
    )


def test_escalate_and_ask_the_publisher_are_actions(admin_client, queue) -> None:
    fraud, content = queue
    response = admin_client.post(
        "/admin/disputes/dispute/",
        {"action": "escalate", "_selected_action": [fraud.pk, content.pk]},
    )
    assert response.status_code == 302
    fraud.refresh_from_db()
    content.refresh_from_db()
    assert (
        fraud.status == "escalated" and content.status == "needs_response"
    )  # refused: not under review
    bundle = EvidenceBundle.objects.get(dispute=fraud)
    download = admin_client.get(f"/admin/disputes/dispute/bundle/{bundle.pk}/")
    assert download.status_code == 200
    assert download.json()["signature"]["signature"] == bundle.signature


def test_deciding_needs_the_permission(client, queue) -> None:
    fraud, _content = queue
    viewer = staff(client, "viewer", decide=False)
    assert viewer.get("/admin/disputes/dispute/").status_code == 200
    response = viewer.post(
        f"/admin/disputes/dispute/{fraud.pk}/change/",
        {"review_action": "decide_reader", "minutes": "1"},
    )
    assert response.status_code == 403
    response = viewer.post(
        "/admin/disputes/dispute/", {"action": "escalate", "_selected_action": [fraud.pk]}
    )
    fraud.refresh_from_db()
    assert fraud.status == "under_review"
    anonymous = Client()
    assert anonymous.get("/admin/disputes/dispute/").status_code == 302
    reviewer = staff(client, "reviewer", decide=True)
    ok = review(reviewer, fraud, review_action="decide_publisher", minutes="2")
    assert ok.status_code == 302
    fraud.refresh_from_db()
    assert fraud.decided_by == "reviewer:reviewer"


def test_the_report_page_draws_its_charts_without_script(admin_client, queue) -> None:
    fraud, _content = queue
    dispute_decide(
        dispute_id=fraud.pk,
        reviewer=get_user_model().objects.get(username="root"),
        winner="reader",
        minutes=3,
    )
    response = admin_client.get("/admin/disputes/dispute/report/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page and "Outcomes by class" in page and "new vs returning" in page
    assert "<script" not in page.split('id="content"')[-1]
    assert admin_client.get("/admin/disputes/dispute/report/?period=garbage").status_code == 200
