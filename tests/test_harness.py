"""The test harness itself: database modes, settings selection, real worker and beat processes.

These run on whatever the suite was started with, so CI exercises them on the embedded default
(SQLite file + filesystem broker) and on PostgreSQL + Redis.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection

from tests.fixtures.worker import (
    CeleryWorker,
    config_fingerprint,
    database_url_for,
    record_probe,
    wait_until,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(120)


def probe_row_exists(token: str) -> bool:
    return Group.objects.filter(name__startswith=f"probe:{token}:").exists()


def probe_fingerprint(token: str) -> str:
    name = Group.objects.get(name__startswith=f"probe:{token}:").name
    return name.rsplit(":", 1)[1]


def settings_in_subprocess(env: dict[str, str]) -> dict[str, Any]:
    """Import the settings in a fresh interpreter with exactly ``env`` and report the choices."""
    code = (
        "import json; from django.conf import settings as s;"
        "db = s.DATABASES['default'];"
        "print(json.dumps({'engine': db['ENGINE'], 'name': str(db['NAME']),"
        " 'host': db.get('HOST'), 'port': db.get('PORT'), 'options': db.get('OPTIONS', {}),"
        " 'test_name': db.get('TEST', {}).get('NAME'),"
        " 'cache': s.CACHES['default']['BACKEND'],"
        " 'layer': s.CHANNEL_LAYERS['default']['BACKEND'],"
        " 'broker': s.CELERY_BROKER_URL}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"DJANGO_SETTINGS_MODULE": "paywall.settings", "PYTHONPATH": str(REPO_ROOT), **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


# --- Settings and databases -----------------------------------------------------------------


def test_embedded_default_is_sqlite_wal_with_in_memory_layer_and_filesystem_broker(tmp_path):
    # Given no configuration but a data dir (and a home for the generated secrets)
    env = {"DROPGATE_DATA_DIR": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}

    # When the settings load
    chosen = settings_in_subprocess(env)

    # Then everything is embedded and lives under the data dir
    assert chosen["engine"] == "django.db.backends.sqlite3"
    assert chosen["name"] == str(tmp_path / "dropgate.sqlite3")
    assert chosen["test_name"] == str(tmp_path / "test_dropgate.sqlite3")
    assert "journal_mode=WAL" in chosen["options"]["init_command"]
    assert chosen["options"]["transaction_mode"] == "IMMEDIATE"
    assert chosen["cache"].endswith("LocMemCache")
    assert chosen["layer"] == "channels.layers.InMemoryChannelLayer"
    assert chosen["broker"] == "filesystem://"
    assert (tmp_path / "django_secret_key").exists()
    # the key-encryption key is generated apart from the database (tests/test_deploy_settings.py)
    assert not (tmp_path / "kek").exists()
    assert list((tmp_path / "config" / "dropgate" / "secrets").glob("kek-*"))


def test_database_url_selects_postgresql_and_redis_url_selects_redis(tmp_path):
    # Given production-style variables (nothing is contacted: settings only parse them)
    env = {
        "DROPGATE_DATA_DIR": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "DATABASE_URL": "postgres://app:s3cret@db.internal:5433/dropgate",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "CELERY_BROKER_URL": "redis://cache.internal:6379/1",
    }

    # When the settings load
    chosen = settings_in_subprocess(env)

    # Then PostgreSQL, Redis and the Redis broker are chosen
    assert chosen["engine"] == "django.db.backends.postgresql"
    assert (chosen["name"], chosen["host"], chosen["port"]) == ("dropgate", "db.internal", 5433)
    assert chosen["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert chosen["layer"] == "channels_redis.core.RedisChannelLayer"
    assert chosen["broker"] == "redis://cache.internal:6379/1"


@pytest.mark.django_db
def test_the_test_database_is_the_one_the_run_configured():
    """SQLite: a WAL file under the data dir with a busy timeout. PostgreSQL: a `test_` copy."""
    if connection.vendor == "postgresql":
        assert connection.settings_dict["NAME"].startswith("test_")
        return
    assert connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        (mode,) = cursor.fetchone()
        cursor.execute("PRAGMA busy_timeout")
        (busy_ms,) = cursor.fetchone()
    assert mode == "wal"
    assert busy_ms >= 5000
    test_db = Path(connection.settings_dict["NAME"])
    assert test_db.is_file()
    assert test_db.parent == Path(settings.DATA_DIR)


def test_database_url_round_trips_through_dj_database_url():
    import dj_database_url

    postgres = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "test_dropgate",
        "USER": "app",
        "PASSWORD": "p@ss:/word",
        "HOST": "127.0.0.1",
        "PORT": 5432,
        "OPTIONS": {"sslmode": "disable"},
    }
    parsed = dj_database_url.parse(database_url_for(postgres))
    assert {k: parsed[k] for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")} == {
        k: postgres[k] for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")
    }
    assert parsed["OPTIONS"] == {"sslmode": "disable"}

    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/x/test_dropgate.sqlite3"}
    assert dj_database_url.parse(database_url_for(sqlite))["NAME"] == sqlite["NAME"]


# --- Worker and beat ------------------------------------------------------------------------


@pytest.mark.integration
def test_worker_runs_a_delayed_task_against_the_test_database(celery_worker_process):
    # Given a running worker and a token nobody wrote yet
    token = uuid.uuid4().hex
    assert not probe_row_exists(token)

    # When the test process queues a task
    record_probe.delay(token)

    # Then the worker runs it, in the test database, with the test process's configuration
    wait_until(lambda: probe_row_exists(token), timeout=30)
    assert probe_fingerprint(token) == config_fingerprint()
    wait_until(lambda: "tests.harness.record_probe" in celery_worker_process.log_text(), timeout=5)
    assert "succeeded" in celery_worker_process.log_text()


@pytest.mark.integration
def test_worker_answers_ping_and_lists_registered_tasks(celery_worker_process: CeleryWorker):
    from paywall.celery import app

    assert wait_until(celery_worker_process.ping, timeout=15)
    inspector = app.control.inspect(destination=[celery_worker_process.nodename], timeout=5)
    registered = wait_until(inspector.registered, timeout=15)
    assert registered is not None
    assert "tests.harness.record_probe" in registered[celery_worker_process.nodename]


@pytest.mark.integration
def test_worker_sees_settings_overrides_made_before_it_starts(settings, start_celery_worker):
    # Given a test that points the ledger elsewhere (as a sandbox fixture does)
    settings.XRPL_URL = "http://127.0.0.1:59999/"

    # When a worker starts and runs the probe
    start_celery_worker()
    token = uuid.uuid4().hex
    record_probe.delay(token)

    # Then the worker ran with the overridden ledger URL
    wait_until(lambda: probe_row_exists(token), timeout=30)
    assert probe_fingerprint(token) == config_fingerprint()


@pytest.mark.integration
@pytest.mark.celery_env(DROPGATE_HARNESS_MARKER="from-marker")
def test_marker_env_reaches_the_worker(celery_worker_process):
    assert celery_worker_process.extra_env == {"DROPGATE_HARNESS_MARKER": "from-marker"}
    environ = Path(f"/proc/{celery_worker_process.pid}/environ")
    if environ.exists():
        assert b"DROPGATE_HARNESS_MARKER=from-marker" in environ.read_bytes().split(b"\0")


@pytest.mark.integration
def test_killed_worker_restarts_and_drains_what_was_queued_meanwhile(celery_worker_process):
    # Given a worker killed without a chance to clean up
    assert celery_worker_process.kill(signal.SIGKILL) == -signal.SIGKILL
    assert not celery_worker_process.is_alive()

    # When a task is queued while no worker runs, and the worker restarts
    token = uuid.uuid4().hex
    record_probe.delay(token)
    celery_worker_process.restart()

    # Then the restarted worker runs the task that waited in the broker
    wait_until(lambda: probe_row_exists(token), timeout=30)
    assert celery_worker_process.log_text().count("--- start") == 2


@pytest.mark.integration
def test_beat_sends_database_scheduled_tasks_to_the_worker(
    celery_worker_process, celery_beat_process
):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    # Given a periodic task stored in the database while beat runs
    token = uuid.uuid4().hex
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.create(
        name=f"harness-{token}",
        task="tests.harness.record_probe",
        args=json.dumps([token]),
        interval=every_second,
    )

    # Then beat picks it up and the worker runs it
    wait_until(lambda: probe_row_exists(token), timeout=45)
    assert "Sending due task harness-" in celery_beat_process.log_text()
