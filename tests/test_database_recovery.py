"""A process keeps working after PostgreSQL restarts: its pooled connections are checked.

Found by benchmarks/faults.py: after `pg_ctl restart` the pool of every web and worker process
still held connections the restart had cut, handed them out unchecked, and the requests that
drew them failed (503 database_unavailable) although the database was back.

Runs only when the suite runs on PostgreSQL (DATABASE_URL); SQLite has no pool.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def cut_every_other_session() -> int:
    """What a restart does to this database's sessions, from a connection of our own."""
    import psycopg

    params = connection.settings_dict
    with psycopg.connect(
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        dbname=params["NAME"],
        autocommit=True,
    ) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_a_pooled_connection_cut_by_a_restart_is_replaced() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the connection pool is PostgreSQL's")
    # A fresh pool, as a process has after it starts: in a long suite, earlier tests' threads
    # (live servers, sockets) may still hold connections of the old one checked out, and a pool
    # at its max_size then times out whatever the health checks do.
    connection.close()
    connection.close_pool()
    Group.objects.create(name="before the restart")
    connection.close()  # back to the pool, alive
    assert cut_every_other_session() >= 1
    # the next query draws from the pool: a dead connection must not be handed out
    assert Group.objects.filter(name="before the restart").exists()
