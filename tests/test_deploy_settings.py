"""Production defaults: `check --deploy` is clean once HTTPS is declared, a Content-Security-
Policy on the service's pages and the admin, the key-encryption key kept apart from the
database, and the faucet only in the sandbox mode.

Settings are read once per process, so most cases import them in a fresh interpreter with
exactly the environment they name.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.admin_support import admin_client, staff_user

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(180)

# What a production deployment behind HTTPS sets (nothing here is contacted).
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DROPGATE_HTTPS": "true",
    "DROPGATE_PUBLIC_URL": "https://pay.example",
    "DJANGO_ALLOWED_HOSTS": "pay.example",
    "XRPL_URL": "https://rippled.example:51234/",
    "DROPGATE_KEK": "a-key-encryption-key-from-the-secret-store",
    "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-secret-key-from-the-secret-store",
}


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        check=False,
        env={
            "DJANGO_SETTINGS_MODULE": "paywall.settings",
            "PYTHONPATH": str(REPO_ROOT),
            "PATH": os.environ.get("PATH", ""),
            **env,
        },
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def chosen(env: dict[str, str], *names: str) -> dict[str, Any]:
    """The named settings, as a fresh process with exactly `env` reads them."""
    code = (
        "import json, sys; from django.conf import settings as s;"
        f"print(json.dumps({{n: getattr(s, n, None) for n in {list(names)!r}}}, default=str))"
    )
    result = run([sys.executable, "-c", code], env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def isolated(tmp_path: Path, **env: str) -> dict[str, str]:
    """A fresh data dir and home for generated secrets, plus `env`."""
    return {
        "DROPGATE_DATA_DIR": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **env,
    }


# --- check --deploy ---------------------------------------------------------------------------


def test_deploy_checks_are_clean_with_https_declared(tmp_path: Path) -> None:
    result = run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        isolated(tmp_path, **PRODUCTION),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # one check is silenced, with its reason written beside it in paywall/settings.py
    assert "System check identified no issues (1 silenced)." in result.stdout


def test_deploy_checks_name_what_is_missing_without_https(tmp_path: Path) -> None:
    env = isolated(tmp_path, **{**PRODUCTION, "DROPGATE_HTTPS": "false"})
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr, check


def test_https_turns_on_hsts_redirects_secure_cookies_and_the_proxy_header(tmp_path: Path) -> None:
    env = isolated(tmp_path, **PRODUCTION, DROPGATE_HTTPS_PROXY_HEADER="X-Forwarded-Proto")
    got = chosen(
        env,
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
    )
    assert got == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }
    # and HTTPS with a plain-HTTP public URL is refused
    bad = run(
        [sys.executable, "-c", "from django.conf import settings; settings.SECRET_KEY"],
        {**env, "DROPGATE_PUBLIC_URL": "http://pay.example"},
    )
    assert bad.returncode != 0 and "DROPGATE_PUBLIC_URL must be an https URL" in bad.stderr


@pytest.mark.django_db
def test_https_responses_carry_hsts_and_plain_http_is_redirected(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()
    plain = client.get("/")
    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    # the load balancer's plain-HTTP probes are not redirected
    assert client.get("/healthz").status_code == 200
    secure = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


# --- Content-Security-Policy ------------------------------------------------------------------

STRICT_PARTS = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "base-uri 'none'",
)


def assert_strict_policy(policy: str) -> None:
    for part in STRICT_PARTS:
        assert part in policy, (part, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.django_db
def test_the_home_page_and_the_admin_carry_a_strict_policy() -> None:
    from fraud.services.cases import case_open

    case = case_open(
        kind="account_farming",
        publisher_ref="pub_x",
        subject="cluster:1",
        evidence={"source": "test"},
        hold_drops=1_000,
    )
    login = Client().get("/admin/login/")
    assert login.status_code == 200
    assert_strict_policy(login["Content-Security-Policy"])
    client = admin_client(staff_user("root", superuser=True))
    for path in (
        "/",
        "/admin/",
        f"/admin/fraud/fraudcase/{case.pk}/change/",
        "/admin/payouts/payouthold/",
        "/admin/payouts/payouthold/add/",
        "/admin/fraud/fraudcase/",
        "/admin/django_celery_beat/periodictask/add/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict_policy(response["Content-Security-Policy"])
        # no inline script or style attribute the policy would block
        page = response.content.decode()
        assert " style=" not in page, path
        assert "<script>" not in page and '<script id="periodic-task-overrides"' not in page
    # the fraud admin's JSON blocks are styled by a stylesheet instead
    page = client.get(f"/admin/fraud/fraudcase/{case.pk}/change/").content.decode()
    assert "/static/fraud/admin.css" in page and 'class="dropgate-json"' in page


@pytest.mark.django_db
def test_the_signer_frame_keeps_its_own_policy() -> None:
    from tests.paywall.factories import ORIGIN, make_publisher

    publisher = make_publisher()
    response = Client().get(f"/sdk/frame/{publisher.key}")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert f"frame-ancestors {ORIGIN}" in policy
    assert "frame-ancestors 'none'" not in policy


# --- The key-encryption key -------------------------------------------------------------------


def test_the_generated_kek_lives_apart_from_the_database_private_and_stable(
    tmp_path: Path,
) -> None:
    env = isolated(tmp_path)
    first = chosen(env, "DROPGATE_KEK", "DROPGATE_SECRETS_DIR", "DATABASES")["DROPGATE_KEK"]
    data, secrets_dir = tmp_path / "data", tmp_path / "config" / "dropgate" / "secrets"
    assert not (data / "kek").exists()
    (kek_file,) = secrets_dir.glob("kek-*")
    assert kek_file.name == f"kek-{(data / 'instance_id').read_text().strip()}"
    assert kek_file.read_text().strip() == first and len(first) >= 32
    assert stat.S_IMODE(kek_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    # every process of this data dir reads the same key
    assert chosen(env, "DROPGATE_KEK")["DROPGATE_KEK"] == first
    # a data dir copied elsewhere (a backup) carries no key with it
    assert not [p for p in data.rglob("*") if p.is_file() and first in p.read_text(errors="ignore")]


def test_a_kek_left_in_the_data_dir_is_moved_out_and_still_opens_the_keys(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "kek").write_text("the-kek-an-older-version-generated\n")
    env = isolated(tmp_path)
    assert chosen(env, "DROPGATE_KEK")["DROPGATE_KEK"] == "the-kek-an-older-version-generated"
    assert not (data / "kek").exists()
    assert chosen(env, "DROPGATE_KEK")["DROPGATE_KEK"] == "the-kek-an-older-version-generated"


def test_outside_the_sandbox_no_kek_is_ever_generated(tmp_path: Path) -> None:
    env = isolated(tmp_path, XRPL_URL="https://rippled.example:51234/")
    result = run(
        [sys.executable, "-c", "from django.conf import settings; settings.SECRET_KEY"], env
    )
    assert result.returncode != 0
    assert "DROPGATE_KEK is not set" in result.stderr
    assert not list((tmp_path / "config").rglob("kek-*"))
    # given one, it runs
    assert chosen({**env, "DROPGATE_KEK": "from-the-secret-store"}, "DROPGATE_KEK") == {
        "DROPGATE_KEK": "from-the-secret-store"
    }


# --- The faucet -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "kind", "faucet"),
    [
        ({}, "sandbox", True),  # the embedded default is the sandbox mode
        ({"XRPL_URL": "https://rippled.example:51234/"}, "rippled", False),
        ({"XRPL_URL": "http://127.0.0.1:5006/", "XRPL_LEDGER_KIND": "sandbox"}, "sandbox", True),
        ({"XRPL_LEDGER_KIND": "rippled"}, "rippled", False),
        (
            {"XRPL_URL": "https://rippled.example/", "DROPGATE_FAUCET_ENABLED": "true"},
            "rippled",
            True,
        ),
        ({"DROPGATE_FAUCET_ENABLED": "false"}, "sandbox", False),
    ],
    ids=["embedded", "url-only", "demo", "rippled-kind", "explicit-on", "explicit-off"],
)
def test_the_faucet_is_on_only_in_the_sandbox_mode_or_when_asked(
    tmp_path: Path, env: dict[str, str], kind: str, faucet: bool
) -> None:
    got = chosen(
        isolated(tmp_path, DROPGATE_KEK="k" * 40, **env),
        "XRPL_LEDGER_KIND",
        "DROPGATE_SANDBOX_MODE",
        "DROPGATE_FAUCET_ENABLED",
    )
    assert got == {
        "XRPL_LEDGER_KIND": kind,
        "DROPGATE_SANDBOX_MODE": kind == "sandbox",
        "DROPGATE_FAUCET_ENABLED": faucet,
    }
