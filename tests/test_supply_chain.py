"""The supply-chain audit's verdicts (scripts/supply_chain.py): vulnerable fails, a package
that could not be checked is never a pass, and ignores need an id and a reason. pip-audit's and
npm's JSON are given as they print it; the services themselves are not contacted here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scripts import supply_chain as sc

TODAY = dt.date(2026, 12, 6)

PIP_AUDIT_VULNERABLE = {
    "dependencies": [
        {
            "name": "django",
            "version": "4.2.0",
            "vulns": [
                {
                    "id": "PYSEC-2023-100",
                    "fix_versions": ["4.2.2"],
                    "aliases": ["CVE-2023-36053", "GHSA-jh3w-4vvf-mjgr"],
                    "description": "Potential regular expression denial of service.\nMore.",
                }
            ],
        },
        {"name": "asgiref", "version": "3.13.0", "vulns": []},
    ],
    "fixes": [],
}
# What pip-audit 2.10.1 writes, with exit 0, when PyPI has no JSON for the version (as here).
PIP_AUDIT_SKIPPED = {
    "dependencies": [
        {
            "name": "django",
            "skip_reason": "Dependency not found on PyPI and could not be audited: django (4.2.0)",
        }
    ],
    "fixes": [],
}
OSV_UNREACHABLE_STDERR = (
    "Traceback (most recent call last):\n  ...\nrequests.exceptions.ConnectionError: "
    "HTTPSConnectionPool(host='api.osv.dev', port=443): Max retries exceeded with url: /v1/query "
    "(Caused by NameResolutionError(\"HTTPSConnection(host='api.osv.dev', port=443): Failed to "
    "resolve 'api.osv.dev' ([Errno -2] Name or service not known)\"))"
)
NPM_VULNERABLE = {
    "auditReportVersion": 2,
    "vulnerabilities": {
        "left-pad": {
            "name": "left-pad",
            "severity": "high",
            "via": [
                {
                    "source": 1234,
                    "title": "Prototype pollution",
                    "url": "https://github.com/advisories/GHSA-aaaa-bbbb-cccc",
                }
            ],
            "range": "<1.3.1",
        },
        "uses-left-pad": {"name": "uses-left-pad", "via": ["left-pad"], "range": "*"},
    },
    "metadata": {"dependencies": {"prod": 3, "dev": 10}},
}
NPM_NO_RUNTIME_DEPS = {
    "auditReportVersion": 2,
    "vulnerabilities": {},
    "metadata": {"dependencies": {"prod": 1, "dev": 138, "total": 138}},
}
NPM_UNREACHABLE = {
    "message": "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk",
    "statusCode": 405,
    "error": {"summary": "", "detail": ""},
}


def test_a_known_vulnerability_fails_the_audit() -> None:
    findings, unchecked = sc.parse_pip_audit(PIP_AUDIT_VULNERABLE, "pypi")
    assert unchecked == []
    (finding,) = findings
    assert (finding.package, finding.advisory, finding.fix_versions) == (
        "django",
        "PYSEC-2023-100",
        ("4.2.2",),
    )
    report = sc.Report(checked={"pypi": 2}, findings=findings)
    assert report.verdict(allow_unchecked=True) == sc.EXIT_VULNERABLE
    text = sc.render(report, allow_unchecked=False)
    assert "VULNERABLE pypi django 4.2.0: PYSEC-2023-100" in text and "fixed in 4.2.2" in text


def test_a_package_pip_audit_skipped_is_not_checked_never_a_pass() -> None:
    findings, unchecked = sc.parse_pip_audit(PIP_AUDIT_SKIPPED, "pypi")
    assert findings == []
    assert [(u.package, u.reason) for u in unchecked] == [
        ("django", "pypi: Dependency not found on PyPI and could not be audited")
    ]
    report = sc.Report(checked={"pypi": 0}, unchecked=unchecked)
    assert report.verdict(allow_unchecked=False) == sc.EXIT_UNCHECKED
    text = sc.render(report, allow_unchecked=False)
    assert "NOT CHECKED: 1 package(s)" in text and "result: NOT CHECKED (exit 3)" in text
    # the explicit allowance passes, and still says so
    assert report.verdict(allow_unchecked=True) == sc.EXIT_CLEAN
    assert "NOT CHECKED" in sc.render(report, allow_unchecked=True)


def test_an_unreachable_service_is_named() -> None:
    assert sc.why_no_report(OSV_UNREACHABLE_STDERR) == (
        "the advisory service is unreachable (cannot resolve api.osv.dev)"
    )


def test_vulnerable_and_unchecked_together_is_vulnerable() -> None:
    findings, _ = sc.parse_pip_audit(PIP_AUDIT_VULNERABLE, "pypi")
    _, unchecked = sc.parse_pip_audit(PIP_AUDIT_SKIPPED, "pypi")
    report = sc.Report(findings=findings, unchecked=unchecked)
    assert report.verdict(allow_unchecked=False) == sc.EXIT_VULNERABLE


def test_npm_findings_no_runtime_dependencies_and_an_unreachable_registry() -> None:
    findings, packages, error = sc.parse_npm_audit(NPM_VULNERABLE)
    assert error is None and packages == 2
    assert [(f.package, f.advisory) for f in findings] == [("left-pad", "GHSA-aaaa-bbbb-cccc")]
    assert sc.parse_npm_audit(NPM_NO_RUNTIME_DEPS) == ([], 0, None)
    findings, packages, error = sc.parse_npm_audit(NPM_UNREACHABLE)
    assert findings == [] and packages is None and "405" in error


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ignores.toml"
    path.write_text(text)
    return path


def test_ignores_need_an_advisory_id_and_a_reason(tmp_path: Path) -> None:
    with pytest.raises(sc.AuditError, match="needs a reason"):
        sc.load_ignores(write(tmp_path, '[[ignore]]\nid = "GHSA-aaaa-bbbb-cccc"\n'))
    with pytest.raises(sc.AuditError, match="advisory id"):
        sc.load_ignores(write(tmp_path, '[[ignore]]\nid = "django"\nreason = "we like it"\n'))
    # the checked-in file loads
    assert isinstance(sc.load_ignores(), list)


def test_an_ignore_applies_by_id_or_alias_until_it_expires(tmp_path: Path) -> None:
    ignores = sc.load_ignores(
        write(
            tmp_path,
            '[[ignore]]\nid = "CVE-2023-36053"\nreason = "the affected validator is never used"\n'
            "until = 2027-01-31\n"
            '[[ignore]]\nid = "GHSA-zzzz-zzzz-zzzz"\nreason = "an old advisory, long fixed"\n',
        )
    )
    findings, _ = sc.parse_pip_audit(PIP_AUDIT_VULNERABLE, "pypi")
    report = sc.Report(findings=list(findings))
    sc.apply_ignores(report, ignores, TODAY)
    assert report.findings == [] and report.verdict(allow_unchecked=False) == sc.EXIT_CLEAN
    assert report.ignored[0][1] == "the affected validator is never used"
    assert report.notes == ["ignore GHSA-zzzz-zzzz-zzzz matches nothing any more: remove it"]
    # after its date it no longer hides the finding
    expired = sc.Report(findings=list(findings))
    sc.apply_ignores(expired, ignores, dt.date(2027, 2, 1))
    assert expired.verdict(allow_unchecked=False) == sc.EXIT_VULNERABLE
    assert any("expired" in note for note in expired.notes)


def test_the_python_audit_covers_the_installed_closure_of_the_pins() -> None:
    packages = sc.installed_closure(sc.pinned_requirements())
    # direct pins, their own requirements, and the dev tools
    for name in ("django", "asgiref", "xrpl-py", "django-otp", "pytest"):
        assert name in packages, name
    # the audit's own tool lives elsewhere and is not audited as the project's
    assert "pip-audit" not in packages
