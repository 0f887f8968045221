"""Supply-chain audit: known vulnerabilities in the project's pinned dependencies.

    python -m scripts.supply_chain [--allow-unchecked] [--skip-python] [--skip-npm]

(`make audit` runs it.) Two audits, one verdict:

- **Python:** every distribution the project's pins bring in (the `[project]` dependencies
  and the `dev` extra, followed through their own requirements), at the version installed in
  this virtualenv, checked by `pip-audit` (pinned in pyproject's `audit` extra, installed in
  its own virtualenv under var/tools so its dependencies are not mixed into the audit) against
  PyPI's advisory data, and then OSV's for whatever PyPI could not answer.
- **npm:** `npm audit --omit=dev` in static/js: what the shipped SDK depends on at run time.

Each package ends as *clean*, *vulnerable* or *not checked* (the advisory service could not be
reached, or had no answer for that version). pip-audit itself reports a package it could not
look up as a skipped dependency and still says "No known vulnerabilities found" with exit 0;
here that is never a pass.

Exit status: 0 every package was checked and none is vulnerable; 1 a known vulnerability that
scripts/supply_chain_ignores.toml does not ignore (whatever else happened); 3 nothing
vulnerable was found but some packages could not be checked (a loud NOT CHECKED report);
2 the audit itself could not run (bad ignore file, pip-audit would not install).
`--allow-unchecked` turns 3 into 0, still printing the NOT CHECKED report: for a machine that
cannot reach any advisory service, as a decision made where it is called.

Ignores are by advisory id (a PYSEC-, GHSA- or CVE- id, or an alias of one) with a reason, and
optionally an `until` date after which they stop applying.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
IGNORES = ROOT / "scripts" / "supply_chain_ignores.toml"
JS_DIR = ROOT / "static" / "js"
TOOLS_DIR = ROOT / "var" / "tools"

EXIT_CLEAN, EXIT_VULNERABLE, EXIT_ERROR, EXIT_UNCHECKED = 0, 1, 2, 3


class AuditError(Exception):
    """The audit could not run at all (exit 2)."""


# --- What was found ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    ecosystem: str  # "pypi" or "npm"
    package: str
    version: str
    advisory: str
    aliases: tuple[str, ...] = ()
    fix_versions: tuple[str, ...] = ()
    summary: str = ""

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(i.upper() for i in (self.advisory, *self.aliases))


@dataclass(frozen=True)
class Unchecked:
    ecosystem: str
    package: str
    version: str
    reason: str


@dataclass
class Report:
    checked: dict[str, int] = field(default_factory=dict)  # ecosystem -> packages checked
    findings: list[Finding] = field(default_factory=list)
    ignored: list[tuple[Finding, str]] = field(default_factory=list)
    unchecked: list[Unchecked] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def verdict(self, *, allow_unchecked: bool) -> int:
        if self.findings:
            return EXIT_VULNERABLE
        if self.unchecked and not allow_unchecked:
            return EXIT_UNCHECKED
        return EXIT_CLEAN


# --- Ignores ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ignore:
    id: str
    reason: str
    until: dt.date | None = None

    def applies(self, finding: Finding, today: dt.date) -> bool:
        return self.id.upper() in finding.ids and (self.until is None or today <= self.until)


def load_ignores(path: Path = IGNORES) -> list[Ignore]:
    """The checked-in ignores: each needs an advisory id and a reason."""
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise AuditError(f"{path}: {exc}") from exc
    ignores = []
    for number, entry in enumerate(data.get("ignore", []), start=1):
        advisory = str(entry.get("id", "")).strip()
        reason = str(entry.get("reason", "")).strip()
        if not re.fullmatch(r"(PYSEC|GHSA|CVE|OSV|GMS)-[\w-]+", advisory, re.IGNORECASE):
            raise AuditError(f"{path}: ignore #{number} needs an advisory id, got {advisory!r}")
        if len(reason) < 10:
            raise AuditError(f"{path}: ignore {advisory} needs a reason")
        until = entry.get("until")
        if until is not None and not isinstance(until, dt.date):
            raise AuditError(f"{path}: ignore {advisory}: `until` must be a date (2027-01-31)")
        ignores.append(Ignore(id=advisory, reason=reason, until=until))
    return ignores


def apply_ignores(report: Report, ignores: Sequence[Ignore], today: dt.date) -> None:
    kept = []
    for finding in report.findings:
        match = next((i for i in ignores if i.applies(finding, today)), None)
        if match is None:
            kept.append(finding)
        else:
            report.ignored.append((finding, match.reason))
    report.findings = kept
    used = {
        i.id.upper() for finding, _ in report.ignored for i in ignores if i.applies(finding, today)
    }
    for ignore in ignores:
        if ignore.until is not None and today > ignore.until:
            report.notes.append(f"ignore {ignore.id} expired on {ignore.until}: it applies no more")
        elif ignore.id.upper() not in used:
            report.notes.append(f"ignore {ignore.id} matches nothing any more: remove it")


# --- Python -----------------------------------------------------------------------------------


def pinned_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[Requirement]:
    project = tomllib.loads(pyproject.read_text())["project"]
    lines = list(project["dependencies"]) + list(project["optional-dependencies"].get("dev", []))
    return [Requirement(line) for line in lines]


def installed_closure(roots: Iterable[Requirement]) -> dict[str, str]:
    """{distribution name: installed version} for the roots and everything they require (with
    their extras, markers evaluated for this interpreter)."""
    found: dict[str, str] = {}
    pending: list[tuple[Requirement, frozenset[str]]] = [(r, frozenset()) for r in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement, parent_extras = pending.pop()
        environments = [{**default_environment(), "extra": e} for e in parent_extras or {""}]
        if requirement.marker is not None and not any(
            requirement.marker.evaluate(env) for env in environments
        ):
            continue
        name = canonicalize_name(requirement.name)
        extras = frozenset(requirement.extras)
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError as exc:
            raise AuditError(
                f"{requirement.name} is pinned but not installed here: run `make venv` first"
            ) from exc
        found[name] = dist.version
        for line in dist.requires or []:
            pending.append((Requirement(line), extras))
    return found


def pip_audit_executable() -> Path:
    """pip-audit at the version pinned in pyproject's `audit` extra, in its own virtualenv."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (pin,) = project["optional-dependencies"]["audit"]
    version = Requirement(pin).specifier
    venv = TOOLS_DIR / f"pip-audit{str(version).replace('==', '-')}"
    executable = venv / "bin" / "pip-audit"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        install = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", pin],
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0 or not executable.exists():
            raise AuditError(f"could not install {pin}:\n{install.stderr[-2000:]}")
    return executable


def parse_pip_audit(output: dict[str, Any], service: str) -> tuple[list[Finding], list[Unchecked]]:
    """pip-audit's JSON: vulnerabilities, and the dependencies it skipped (could not look up)."""
    findings, unchecked = [], []
    for dep in output.get("dependencies", []):
        name, version = dep.get("name", "?"), dep.get("version", "?")
        if "skip_reason" in dep:
            # "…could not be audited: NAME (VERSION)": the package is listed beside the reason
            reason = re.sub(r":\s*\S+ \([^)]*\)\s*$", "", str(dep["skip_reason"]))
            unchecked.append(Unchecked("pypi", name, version, f"{service}: {reason}"))
            continue
        for vuln in dep.get("vulns", []):
            findings.append(
                Finding(
                    ecosystem="pypi",
                    package=name,
                    version=version,
                    advisory=vuln["id"],
                    aliases=tuple(vuln.get("aliases", [])),
                    fix_versions=tuple(vuln.get("fix_versions", [])),
                    summary=(vuln.get("description") or "").strip().splitlines()[0][:160]
                    if vuln.get("description")
                    else "",
                )
            )
    return findings, unchecked


def run_pip_audit(packages: dict[str, str], service: str) -> tuple[list[Finding], list[Unchecked]]:
    """Audit exactly these pinned versions with one advisory service. A run that produced no
    report (the service unreachable) leaves every package unchecked."""
    if not packages:
        return [], []
    with tempfile.TemporaryDirectory() as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text("".join(f"{n}=={v}\n" for n, v in sorted(packages.items())))
        out = Path(tmp) / "report.json"
        result = subprocess.run(
            [
                str(pip_audit_executable()),
                "--requirement",
                str(requirements),
                "--no-deps",
                "--disable-pip",
                "--vulnerability-service",
                service,
                "--format",
                "json",
                "--output",
                str(out),
                "--progress-spinner",
                "off",
                "--timeout",
                "20",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        report = json.loads(out.read_text()) if out.exists() and out.stat().st_size else None
    if report is None:
        reason = f"{service}: {why_no_report(result.stderr)}"
        return [], [Unchecked("pypi", n, v, reason) for n, v in sorted(packages.items())]
    return parse_pip_audit(report, service)


def why_no_report(stderr: str) -> str:
    """One line on why pip-audit produced no report (its last error, host names kept)."""
    unresolved = re.search(r"Failed to resolve '([^']+)'", stderr)
    if unresolved:
        return f"the advisory service is unreachable (cannot resolve {unresolved.group(1)})"
    refused = re.search(r"host='([^']+)'.*?(Connection refused|timed out)", stderr)
    if refused:
        return f"the advisory service is unreachable ({refused.group(1)}: {refused.group(2)})"
    last = (stderr.strip().splitlines() or ["no output"])[-1]
    return f"no report ({last[:160]})"


def audit_python(report: Report) -> None:
    packages = installed_closure(pinned_requirements())
    remaining = dict(packages)
    reasons: dict[str, list[str]] = {}
    for service in ("pypi", "osv"):
        findings, unchecked = run_pip_audit(remaining, service)
        report.findings += findings
        for item in unchecked:
            reasons.setdefault(canonicalize_name(item.package), []).append(item.reason)
        left = {canonicalize_name(u.package) for u in unchecked}
        remaining = {n: v for n, v in remaining.items() if canonicalize_name(n) in left}
        if not remaining:
            break
    report.unchecked += [
        Unchecked("pypi", n, v, "; ".join(reasons[n])) for n, v in sorted(remaining.items())
    ]
    report.checked["pypi"] = len(packages) - len(remaining)


# --- npm --------------------------------------------------------------------------------------


def parse_npm_audit(output: dict[str, Any]) -> tuple[list[Finding], int | None, str | None]:
    """`npm audit --json`: (findings, runtime packages audited, error if the audit failed)."""
    if "error" in output or "vulnerabilities" not in output:
        error = output.get("error", {})
        message = output.get("message") or error.get("summary") or error.get("code") or "no report"
        return [], None, str(message)
    findings = []
    for name, entry in output["vulnerabilities"].items():
        for via in entry.get("via", []):
            if not isinstance(via, dict):
                continue  # reached through another vulnerable package, reported there
            url = str(via.get("url", ""))
            advisory = url.rsplit("/", 1)[-1] if "GHSA-" in url else f"npm-{via.get('source')}"
            findings.append(
                Finding(
                    ecosystem="npm",
                    package=name,
                    version=str(entry.get("range", "")),
                    advisory=advisory,
                    summary=str(via.get("title", ""))[:160],
                )
            )
    prod = output.get("metadata", {}).get("dependencies", {}).get("prod", 0)
    return findings, max(int(prod) - 1, 0), None  # npm counts the project itself


def audit_npm(report: Report) -> None:
    if not (JS_DIR / "package-lock.json").exists():
        raise AuditError(f"{JS_DIR}/package-lock.json is missing")
    result = subprocess.run(
        ["npm", "audit", "--omit=dev", "--json"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    try:
        output = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        output = {"message": (result.stderr.strip().splitlines() or ["no JSON"])[-1]}
    findings, packages, error = parse_npm_audit(output)
    if error is not None:
        report.unchecked.append(Unchecked("npm", "static/js", "-", f"npm audit: {error}"))
        return
    report.findings += findings
    report.checked["npm"] = packages or 0
    if not packages:
        report.notes.append("npm: the SDK has no runtime dependencies (nothing to audit)")


# --- Report -----------------------------------------------------------------------------------


def render(report: Report, *, allow_unchecked: bool) -> str:
    lines = [
        "supply-chain audit: "
        + ", ".join(f"{eco} {count} package(s) checked" for eco, count in report.checked.items())
    ]
    for finding in report.findings:
        fix = f"; fixed in {', '.join(finding.fix_versions)}" if finding.fix_versions else ""
        lines.append(
            f"VULNERABLE {finding.ecosystem} {finding.package} {finding.version}: "
            f"{finding.advisory} {' '.join(finding.aliases)} {finding.summary}{fix}".rstrip()
        )
    for finding, reason in report.ignored:
        lines.append(
            f"ignored    {finding.ecosystem} {finding.package}: {finding.advisory} ({reason})"
        )
    if report.unchecked:
        lines.append(
            "=" * 78 + "\n"
            f"NOT CHECKED: {len(report.unchecked)} package(s) could not be checked against any "
            "advisory service.\nThis is not a pass: nothing is known about them."
        )
        by_reason: dict[str, list[Unchecked]] = {}
        for item in report.unchecked:
            by_reason.setdefault(item.reason, []).append(item)
        for reason, items in by_reason.items():
            names = ", ".join(f"{i.package} {i.version}" for i in items[:8])
            more = f" and {len(items) - 8} more" if len(items) > 8 else ""
            lines.append(f"  {len(items)} {items[0].ecosystem} package(s): {reason}")
            lines.append(f"    ({names}{more})")
        lines.append("=" * 78)
    lines += [f"note: {note}" for note in report.notes]
    verdict = report.verdict(allow_unchecked=allow_unchecked)
    lines.append(
        {
            EXIT_CLEAN: "result: no known vulnerabilities"
            + (
                " (some packages NOT CHECKED, allowed by --allow-unchecked)"
                if report.unchecked
                else ""
            ),
            EXIT_VULNERABLE: "result: VULNERABLE (exit 1)",
            EXIT_UNCHECKED: "result: NOT CHECKED (exit 3); --allow-unchecked accepts that",
        }[verdict]
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--allow-unchecked", action="store_true")
    parser.add_argument("--skip-python", action="store_true")
    parser.add_argument("--skip-npm", action="store_true")
    args = parser.parse_args(argv)
    report = Report()
    try:
        ignores = load_ignores()
        if not args.skip_python:
            audit_python(report)
        if not args.skip_npm:
            audit_npm(report)
        apply_ignores(report, ignores, dt.date.today())
    except (AuditError, subprocess.CalledProcessError, OSError) as exc:
        print(f"supply-chain audit could not run: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(render(report, allow_unchecked=args.allow_unchecked), flush=True)
    return report.verdict(allow_unchecked=args.allow_unchecked)


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
