"""billing.devstack.services against real processes: our own PostgreSQL/Redis, and the running ones."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import stat
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pg8000.native
import pytest
import redis

from billing.devstack.services import Services, ensure_services, free_port, recreate_database
from tests.support import process_running

DB = "devstack_test"


# --------------------------------------------------------------------------- helpers


def _connect(url: str) -> pg8000.native.Connection:
    u = urlsplit(url)
    return pg8000.native.Connection(
        user=u.username or "postgres", password=u.password, host=u.hostname, port=u.port, database=u.path.lstrip("/"), timeout=10
    )


def _db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _postmaster_pid(url: str) -> int:
    conn = _connect(url)
    try:
        data_dir = conn.run("SHOW data_directory")[0][0]
    finally:
        conn.close()
    return int((Path(data_dir) / "postmaster.pid").read_text().split()[0])


def _redis_pid(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


def _pg_answers(url: str) -> bool:
    try:
        _connect(url).close()
        return True
    except Exception:
        return False


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except Exception:
        return False


def _assert_stopped(ports_pids: list[tuple[int, int]]) -> None:
    for port, pid in ports_pids:
        assert not _listening(port), f"port {port} still listening"
        assert not process_running(pid), f"pid {pid} still running"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _infra():
    """Overrides the directory's autouse session `infra`: these tests bring their own servers
    and need neither moto nor the shared test database."""
    return None


@pytest.fixture(scope="module")
def own_root():
    root = Path(tempfile.mkdtemp(prefix="billing-devstack-test-"))
    # mkdtemp gives 0700; when the suite runs as root the cluster belongs to an unprivileged
    # user that must traverse the project root, as it can in a normal checkout.
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def own(own_root):
    lines: list[str] = []
    services = ensure_services(own_root, DB, own=True, log=lines.append)
    yield services, lines
    services.stop()


# --------------------------------------------------------------------------- tests


def test_own_services_start_on_free_ports(own):
    services, lines = own
    assert isinstance(services, Services)
    pg_port = urlsplit(services.database_url).port
    redis_port = urlsplit(services.redis_url).port
    assert pg_port not in (5432, None) and redis_port not in (6379, None)
    assert services.database_url == f"postgresql://postgres@127.0.0.1:{pg_port}/{DB}"
    assert services.admin_database_url == f"postgresql://postgres@127.0.0.1:{pg_port}/postgres"
    assert services.redis_url == f"redis://127.0.0.1:{redis_port}/0"
    assert [s.split()[0] for s in services.started] == ["postgresql", "redis"]
    assert f"127.0.0.1:{pg_port} (.local/pg)" in services.started[0]
    assert any("initdb" in line for line in lines)

    conn = _connect(services.database_url)
    try:
        assert conn.run("SELECT current_database(), 1 + 1") == [[DB, 2]]
        assert conn.run("SHOW fsync") == [["off"]]
    finally:
        conn.close()
    assert redis.Redis.from_url(services.redis_url).ping() is True


def test_database_url_and_redis_url_from_env_are_used(own, monkeypatch, tmp_path):
    services, _ = own
    monkeypatch.setenv("DATABASE_URL", _db(services.admin_database_url, "whatever"))
    monkeypatch.setenv("REDIS_URL", services.redis_url)
    lines: list[str] = []
    env_services = ensure_services(tmp_path, "devstack_env", log=lines.append)
    try:
        assert env_services.started == []
        assert env_services.database_url == _db(services.admin_database_url, "devstack_env")
        assert env_services.admin_database_url == services.admin_database_url
        assert env_services.redis_url == services.redis_url
        conn = _connect(env_services.database_url)
        try:
            assert conn.run("SELECT current_database()") == [["devstack_env"]]
        finally:
            conn.close()
    finally:
        env_services.stop()
    assert _pg_answers(services.admin_database_url)  # stop() left the server it did not start alone
    assert not (tmp_path / ".local").exists()


def test_recreate_database_gives_an_empty_database(own):
    services, _ = own
    conn = _connect(services.database_url)
    conn.run("CREATE TABLE leftover (id int)")
    conn.run("INSERT INTO leftover VALUES (1)")
    # `conn` stays open: recreate_database must kick it out.
    recreate_database(services.admin_database_url, DB)
    with pytest.raises(Exception):
        conn.run("SELECT 1")
    with contextlib.suppress(Exception):
        conn.close()

    fresh = _connect(services.database_url)
    try:
        assert fresh.run("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                         "WHERE n.nspname = 'public'") == [[0]]
        assert fresh.run("SELECT datcollate FROM pg_database WHERE datname = current_database()") == [["C"]]
    finally:
        fresh.close()

    recreate_database(services.admin_database_url, "devstack_brand_new")  # missing database: just created
    _connect(_db(services.admin_database_url, "devstack_brand_new")).close()


@pytest.mark.parametrize("name", ["Billing", "bill-ing", 'x"; DROP DATABASE postgres; --', "", "a" * 64])
def test_database_names_are_restricted(own, name, tmp_path):
    services, _ = own
    with pytest.raises(ValueError):
        recreate_database(services.admin_database_url, name)
    with pytest.raises(ValueError):
        ensure_services(tmp_path, name, own=True, log=lambda _m: None)
    assert not (tmp_path / ".local").exists()  # rejected before anything started


def test_free_port_is_bindable():
    port = free_port()
    assert 1024 <= port <= 65535 and port not in (5432, 6379)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_uses_running_services_and_starts_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    system_pg = "postgresql://postgres@127.0.0.1:5432/postgres"
    system_redis = "redis://127.0.0.1:6379/0"
    if not (_pg_answers(system_pg) and _redis_answers(system_redis)):
        pytest.skip("no PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 on this machine")

    # "postgres" always exists, so the shared server is only read from.
    services = ensure_services(tmp_path, "postgres", log=lambda _m: None)
    assert services.started == []
    assert services.database_url == system_pg
    assert services.admin_database_url == system_pg
    assert services.redis_url == system_redis
    services.stop()
    services.stop()
    assert _pg_answers(system_pg) and _redis_answers(system_redis)  # untouched
    assert not (tmp_path / ".local").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to another OS user")
def test_root_falls_back_to_a_temp_data_dir_when_the_project_is_closed(tmp_path):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    root = closed / "project"
    root.mkdir()
    lines: list[str] = []
    services = ensure_services(root, "devstack_fallback", own=True, log=lines.append)
    try:
        assert any("cannot reach" in line for line in lines)
        assert stat.S_IMODE(closed.stat().st_mode) == 0o700  # not ours: never chmod-ed
        assert not (root / ".local" / "pg").exists()
        conn = _connect(services.database_url)
        try:
            assert conn.run("SELECT current_database()") == [["devstack_fallback"]]
        finally:
            conn.close()
        pg_dir = Path(re.search(r"\((/[^)]+)\)", services.started[0]).group(1))
        assert pg_dir.name.startswith("billing-pg-")
    finally:
        services.stop()
    shutil.rmtree(pg_dir, ignore_errors=True)


def test_stop_then_restart_reuses_the_cluster(own, own_root):
    """Last: stops the module's services, then starts again on the same root (initdb skipped)."""
    services, _ = own
    conn = _connect(services.database_url)
    try:
        conn.run("CREATE TABLE survivor (v text)")
        conn.run("INSERT INTO survivor VALUES ('kept')")
    finally:
        conn.close()
    pg_port = urlsplit(services.database_url).port
    redis_port = urlsplit(services.redis_url).port
    pg_pid = _postmaster_pid(services.admin_database_url)
    redis_pid = _redis_pid(services.redis_url)
    assert process_running(pg_pid) and process_running(redis_pid)

    services.stop()
    _assert_stopped([(pg_port, pg_pid), (redis_port, redis_pid)])
    services.stop()  # idempotent

    assert (own_root / ".local" / "pg" / "data" / "PG_VERSION").is_file()
    lines: list[str] = []
    again = ensure_services(own_root, DB, own=True, log=lines.append)
    try:
        assert not any("initdb" in line for line in lines)
        assert any("reusing cluster" in line for line in lines)
        assert len(again.started) == 2
        conn = _connect(again.database_url)
        try:
            assert conn.run("SELECT v FROM survivor") == [["kept"]]
        finally:
            conn.close()
        ports_pids = [
            (urlsplit(again.database_url).port, _postmaster_pid(again.admin_database_url)),
            (urlsplit(again.redis_url).port, _redis_pid(again.redis_url)),
        ]
    finally:
        again.stop()
    _assert_stopped(ports_pids)
