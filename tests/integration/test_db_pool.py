"""The connection pool against the real server: broken connections are dropped, never pooled."""
from __future__ import annotations

import ssl
from datetime import datetime, timedelta, timezone

import pg8000.exceptions
import pg8000.native
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from billing.ports.db import Database, connect_kwargs
from tests.support import throwaway_postgres


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


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """A PostgreSQL speaking TLS (the shared ones do not) with a certificate for `localhost` signed by a CA of
    this test; yields (port, the CA's PEM file)."""
    ca_key, server_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    now = datetime.now(timezone.utc)

    def certificate(subject: str, key, signer, extension) -> x509.Certificate:
        return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name("test CA"))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
                .add_extension(extension, critical=False).sign(signer, hashes.SHA256()))

    ca = certificate("test CA", ca_key, ca_key, x509.BasicConstraints(ca=True, path_length=None))
    server = certificate("localhost", server_key, ca_key, x509.SubjectAlternativeName([x509.DNSName("localhost")]))
    pem = serialization.Encoding.PEM
    key_pem = server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    ca_file = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    with throwaway_postgres("-A", "trust", files={"server.crt": server.public_bytes(pem), "server.key": key_pem},
                            options="-c ssl=on -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key"
                            ) as port:
        yield port, ca_file


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _uses_tls(url: str) -> bool:
    db = Database(url)
    try:
        return db.run_alone("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        db.close()


def test_each_sslmode_connects_as_libpq_would(tls_server):
    port, ca = tls_server
    assert _uses_tls(f"postgresql://postgres@127.0.0.1:{port}/postgres") is True  # prefer, the default
    assert _uses_tls(f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=require") is True
    assert _uses_tls(f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=disable") is False
    assert _uses_tls(f"postgresql://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={ca}") is True
    assert _uses_tls(f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=verify-ca&sslrootcert={ca}") is True


@pytest.mark.parametrize("url", [
    pytest.param("postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={ca}",
                 id="verify-full-another-name"),
    pytest.param("postgresql://postgres@localhost:{port}/postgres?sslmode=verify-full", id="verify-full-unknown-ca"),
    pytest.param("postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=verify-ca", id="verify-ca-unknown-ca"),
])
def test_a_certificate_that_does_not_check_out_is_refused(tls_server, url):
    port, ca = tls_server
    with pytest.raises(ssl.SSLCertVerificationError):
        _uses_tls(url.format(port=port, ca=ca))


def test_sslmode_require_refuses_a_server_without_tls(infra):
    admin = Database(infra.database_url)
    speaks_tls = admin.run_alone("SHOW ssl") == "on"
    admin.close()
    if speaks_tls:
        pytest.skip("this PostgreSQL speaks TLS")
    with pytest.raises(pg8000.exceptions.InterfaceError, match="refuses SSL"):
        _uses_tls(infra.database_url + ("&" if "?" in infra.database_url else "?") + "sslmode=require")


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
