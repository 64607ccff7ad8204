"""The connection pool against the real server: broken connections are dropped, never pooled."""
from __future__ import annotations

import pg8000.exceptions
import pg8000.native
import pytest

from billing.ports.db import Database, connect_kwargs


def _kill(url: str, pid: int) -> None:
    admin = pg8000.native.Connection(**connect_kwargs(url))
    try:
        admin.run("SELECT pg_terminate_backend(:pid)", pid=pid)
    finally:
        admin.close()


def test_an_error_on_a_dead_connection_keeps_the_first_error_and_drops_the_connection(infra):
    db = Database(infra.database_url)
    with pytest.raises(ValueError, match="the caller's own failure"):
        with db.transaction() as tx:
            _kill(infra.database_url, tx.value("SELECT pg_backend_pid()"))
            raise ValueError("the caller's own failure")
    assert db._idle == []  # the dead connection was not pooled
    with db.transaction() as tx:
        assert tx.value("SELECT 1") == 1
    db.close()


def test_a_pooled_connection_dropped_while_idle_is_replaced_once(infra):
    db = Database(infra.database_url)
    with db.transaction() as tx:
        pid = tx.value("SELECT pg_backend_pid()")
    _kill(infra.database_url, pid)
    with db.transaction() as tx:
        assert tx.value("SELECT pg_backend_pid()") != pid
    db.close()


def test_a_statement_alone_on_a_connection_dropped_while_idle_runs_on_a_new_one(infra):
    # An audited read after a cached page: the first statement after the container slept (RDS Proxy drops
    # clients idle for 15 minutes).
    db = Database(infra.database_url)
    pid = db.run_alone("SELECT pg_backend_pid()")
    _kill(infra.database_url, pid)
    assert db.run_alone("SELECT pg_backend_pid()") not in (pid, None)
    assert len(db._idle) == 1
    db.close()


def test_a_failed_commit_is_never_pooled(infra, db):
    pool = Database(infra.database_url)
    with pytest.raises(pg8000.exceptions.DatabaseError):
        with pool.transaction() as tx:
            tx.execute("CREATE TEMP TABLE deferred_check (v int UNIQUE DEFERRABLE INITIALLY DEFERRED)")
            tx.execute("INSERT INTO deferred_check VALUES (1), (1)")  # fails only at COMMIT
    assert pool._idle == []
    pool.close()


def test_a_read_appended_alone_commits_by_itself_and_a_failed_one_leaves_the_connection_usable(infra):
    db = Database(infra.database_url)
    try:
        assert db.run_alone("SELECT 41 + 1") == 42
        with pytest.raises(pg8000.exceptions.DatabaseError):
            db.run_alone("SELECT 1 / 0")
        assert db.run_alone("SELECT 'still usable'") == "still usable"
        assert len(db._idle) == 1
    finally:
        db.close()


def test_sslmode_require_gets_tls_or_refuses_to_connect_in_clear(infra):
    admin = Database(infra.database_url)
    server_tls = admin.run_alone("SHOW ssl") == "on"
    admin.close()
    strict = Database(_with_query(infra.database_url, "sslmode=require"))
    if server_tls:
        assert strict.run_alone("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
    else:
        with pytest.raises(pg8000.exceptions.InterfaceError, match="refuses SSL"):
            strict.run_alone("SELECT 1")
    strict.close()


def test_sslmode_disable_connects_in_clear(infra):
    db = Database(_with_query(infra.database_url, "sslmode=disable"))
    assert db.run_alone("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is False
    db.close()


def _with_query(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


def test_a_statement_text_is_converted_once_and_each_run_gets_its_own_values(infra):
    from billing.ports.db import _to_statement

    db = Database(infra.database_url)
    sql = "SELECT CAST(:a AS int) + CAST(:b AS int), CAST(:a AS int), ':not_a_name' -- :nor_this\n"
    try:
        with db.transaction() as tx:
            _to_statement.cache_clear()
            assert tx.con.run(sql, a=1, b=2) == [[3, 1, ":not_a_name"]]
            assert tx.con.run(sql, b=20, a=10) == [[30, 10, ":not_a_name"]]
            assert _to_statement.cache_info().hits == 1 and _to_statement.cache_info().misses == 1
            with pytest.raises(pg8000.exceptions.InterfaceError, match="no matching"):
                tx.con.run(sql, a=1)
    finally:
        db.close()
