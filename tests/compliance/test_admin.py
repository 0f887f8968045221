"""The compliance admin pages: the rulebook and its diff, tax reports with downloads, SAR cases
moved through their states and exported, KYC tiers, publishers' blocked countries."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from compliance.models import KycEvent, PublisherPolicy, RulebookVersion, SarCase, TaxReport
from compliance.rules import rulebook
from compliance.services.fx import fx_import_ecb, fx_rate_record
from compliance.services.kyc import kyc_business_submit
from compliance.services.sar import sar_open_or_extend
from tests.admin_support import admin_client as signed_in
from tests.admin_support import staff_user

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent.parent / "data" / "compliance"


@pytest.fixture
def admin_client():
    return signed_in(staff_user("root", superuser=True))


def test_the_running_rulebook_and_the_diff_between_versions(admin_client) -> None:
    listing = admin_client.get("/admin/compliance/rulebookversion/")
    assert listing.status_code == 200
    running = RulebookVersion.objects.get(version=rulebook().version)
    page = admin_client.get("/admin/compliance/rulebookversion/current/")
    assert page.status_code == 200
    assert b"sanctions.ofac.sy" in page.content and b"Executive Order 14312" in page.content
    older = RulebookVersion.objects.create(
        version="0000000000000000",
        files={
            **running.files,
            "de.yaml": running.files["de.yaml"].replace("value: 19", "value: 18", 1),
        },
        rule_count=running.rule_count,
        first_seen_at=running.first_seen_at.replace(year=2025),
    )
    diff = admin_client.get(
        f"/admin/compliance/rulebookversion/diff/{older.version}/{running.version}/"
    )
    assert diff.status_code == 200
    assert b"-        value: 18" in diff.content and b"+        value: 19" in diff.content


def test_a_tax_report_is_generated_and_downloaded(admin_client) -> None:
    fx_import_ecb(location=str(DATA / "eurofxref-sample.xml"))
    fx_rate_record(
        base="XRP", quote="EUR", rate=Decimal("0.5"), as_of=date(2026, 9, 30), source="m"
    )
    response = admin_client.post(
        "/admin/compliance/taxreport/generate/", {"scheme": "oss", "period": "2026Q3"}
    )
    assert response.status_code == 302
    report = TaxReport.objects.get()
    csv_file = admin_client.get(f"/admin/compliance/taxreport/{report.pk}/download.csv")
    assert csv_file.status_code == 200 and csv_file["Content-Type"].startswith("text/csv")
    assert csv_file.content.startswith(b"scheme,period,member_state_of_consumption")
    as_json = admin_client.get(f"/admin/compliance/taxreport/{report.pk}/download.json")
    assert as_json.json()["scheme"] == "EU-OSS"


def test_a_sar_case_is_moved_with_a_reason_and_exported(admin_client) -> None:
    case, _ = sar_open_or_extend(
        rule_id="monitoring.shared_funding",
        subject_kind="funding",
        subject="rX",
        summary="s",
        evidence={"readers": 5},
    )
    refused = admin_client.post(
        f"/admin/compliance/sarcase/{case.pk}/transition/", {"to_status": "filed", "reason": "x"}
    )
    assert refused.status_code == 200  # not a choice from `open`
    moved = admin_client.post(
        f"/admin/compliance/sarcase/{case.pk}/transition/",
        {"to_status": "investigating", "reason": "looking"},
    )
    assert moved.status_code == 302
    case.refresh_from_db()
    assert case.status == "investigating"
    assert case.events.last().actor_label == "root"
    export = admin_client.get(f"/admin/compliance/sarcase/{case.pk}/export.json")
    assert export.status_code == 200 and export.json()["case"]["id"] == case.pk
    assert admin_client.get(f"/admin/compliance/sarcase/{case.pk}/export.csv").status_code == 200
    assert admin_client.get(f"/admin/compliance/sarcase/{case.pk}/change/").status_code == 200


def test_staff_without_the_permission_cannot_move_a_case() -> None:
    client = signed_in(staff_user("clerk", perms=["compliance.view_sarcase"]))
    case, _ = sar_open_or_extend(
        rule_id="monitoring.shared_funding",
        subject_kind="funding",
        subject="rY",
        summary="s",
        evidence={},
    )
    response = client.post(
        f"/admin/compliance/sarcase/{case.pk}/transition/",
        {"to_status": "investigating", "reason": "r"},
    )
    assert response.status_code == 403
    assert SarCase.objects.get(pk=case.pk).status == "open"


def test_kyc_tier_is_set_with_a_reason(admin_client) -> None:
    row = kyc_business_submit(
        publisher_ref="pub_adm",
        legal_name="L",
        address="A",
        country="DE",
        vat_id="DE136695976",
        actor="t",
    )
    response = admin_client.post(
        f"/admin/compliance/publisherkyc/{row.pk}/tier/", {"tier": "0", "reason": "expired"}
    )
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.tier == 0
    assert KycEvent.objects.filter(action="tier_set", actor="admin:root", reason="expired").exists()


def test_a_publisher_s_blocked_countries_in_the_admin(admin_client) -> None:
    response = admin_client.post(
        "/admin/compliance/publisherpolicy/add/",
        {
            "publisher_ref": "pub_adm",
            "blocked_countries": '["ru"]',
            "tax_category": "standard",
            "article_tax_categories": "{}",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert PublisherPolicy.objects.get(publisher_ref="pub_adm").blocked_countries == ["RU"]
