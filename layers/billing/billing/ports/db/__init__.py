"""PostgreSQL through pg8000: a small connection pool reused across warm invocations, and transactions.

Repository modules beside this one hold the SQL; they take a `Tx` and never open connections themselves.
"""
from __future__ import annotations

import os
import ssl
import threading
from collections import defaultdict
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

import pg8000.exceptions
import pg8000.native
from pg8000.converters import make_params
from pg8000.core import NULL_BYTE, SYNC_MSG, Context, _flush, _write

from billing.config import settings
from billing.ports.secrets import refreshed_database_url_from_secret

INTEGRITY_VIOLATION_CLASS = "23"  # SQLSTATE class 23: integrity constraint violation


SSL_MODES = ("disable", "prefer", "require", "verify-ca", "verify-full")
INVALID_PASSWORD = "28P01"


def connect_kwargs(url: str) -> dict[str, Any]:
    """pg8000's arguments for a postgresql:// URL. `?sslmode=` as libpq reads it: `disable`, `prefer` (the
    default: TLS when the server offers it, unverified), `require` (TLS, unverified), `verify-ca` and
    `verify-full` (the server's certificate checked against the system's CAs or `sslrootcert`, and for
    verify-full its name too: what the deployed functions use with RDS Proxy)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError("DATABASE_URL must start with postgresql://")
    query = dict(parse_qsl(parts.query))
    mode = query.get("sslmode", "prefer")
    if mode not in SSL_MODES:
        raise ValueError(f"DATABASE_URL's sslmode must be one of {', '.join(SSL_MODES)}")
    kwargs: dict[str, Any] = {
        "user": unquote(parts.username or "postgres"),
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "database": (parts.path or "/postgres").lstrip("/") or "postgres",
        "timeout": 10,
        "application_name": "twinmcp-billing",
    }
    if parts.password:
        kwargs["password"] = unquote(parts.password)
    if mode == "disable":
        kwargs["ssl_context"] = False
    elif mode != "prefer":  # prefer: pg8000's own None (TLS if offered, else plain)
        kwargs["ssl_context"] = ssl_context(mode, query.get("sslrootcert"))
    return kwargs


@lru_cache(maxsize=8)
def ssl_context(mode: str, root_cert: str | None = None) -> ssl.SSLContext:
    """One context per mode and CA file for the process: loading the CAs costs milliseconds per connection."""
    context = ssl.create_default_context(cafile=root_cert)
    if mode == "require":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif mode == "verify-ca":
        context.check_hostname = False
    return context


class Connection(pg8000.native.Connection):
    """pg8000's connection, with one network round trip per statement with parameters instead of three: Parse,
    Describe, Bind and Execute leave together, then one Sync, as libpq's extended protocol does (pg8000 1.31
    waits after Parse, after Describe and after Execute). Still the unnamed statement: nothing session-scoped
    that would pin an RDS Proxy connection. Errors are the same: the server skips to the Sync and reports.

    And `run` converts each SQL text's :names to $n once per process, not on every call (pg8000 scans the text
    character by character in Python: a third of a ms for the audit append, on every request)."""

    def run(self, sql, stream=None, types=None, **params):
        if not params and stream is None:
            return super().run(sql, types=types)
        statement, make_vals = _to_statement(sql)
        oids = () if types is None else make_vals(defaultdict(lambda: None, types))
        self._context = self.execute_unnamed(statement, make_vals(params), oids=oids, stream=stream)
        return self._context.rows

    def execute_unnamed(self, statement, vals=(), oids=(), stream=None):
        if stream is not None:  # COPY keeps pg8000's own exchange
            return super().execute_unnamed(statement, vals, oids=oids, stream=stream)
        params = make_params(self.py_types, vals)  # before anything is written: a bad value sends nothing
        context = Context(statement, stream=stream)
        self.send_PARSE(NULL_BYTE, statement, oids)
        self.send_DESCRIBE_STATEMENT(NULL_BYTE)
        self.send_BIND(NULL_BYTE, params)
        self.send_EXECUTE()
        _write(self._sock, SYNC_MSG)
        try:
            _flush(self._sock)
        except AttributeError:
            if self._sock is None:
                raise pg8000.exceptions.InterfaceError("connection is closed") from None
            raise
        self.handle_messages(context)
        return context


# The SQL texts are the repositories' constants (and a few filter combinations): a bounded, small set.
_to_statement = lru_cache(maxsize=512)(pg8000.native.to_statement)


class Tx:
    """One open transaction; rows come back as dicts keyed by column name."""

    def __init__(self, con: pg8000.native.Connection) -> None:
        self.con = con

    def all(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        rows = self.con.run(sql, **params)
        if not rows:
            return []
        names = [c["name"] for c in self.con.columns]
        return [dict(zip(names, row)) for row in rows]

    def one(self, sql: str, **params: Any) -> dict[str, Any] | None:
        rows = self.all(sql, **params)
        return rows[0] if rows else None

    def value(self, sql: str, **params: Any) -> Any:
        rows = self.con.run(sql, **params)
        return rows[0][0] if rows else None

    def execute(self, sql: str, **params: Any) -> int:
        self.con.run(sql, **params)
        return self.con.row_count

    @contextmanager
    def savepoint(self, name: str = "sp") -> Iterator[None]:
        self.con.run(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.con.run(f"ROLLBACK TO SAVEPOINT {name}")
            raise
        self.con.run(f"RELEASE SAVEPOINT {name}")


class Database:
    """A LIFO pool of pg8000 connections (one in a Lambda container, one per thread on the local gateway: keep
    enough idle for its concurrent requests, since a new pg8000 connection costs an SSL context and a backend)."""

    def __init__(self, url: str, max_idle: int = 32, refresh_url: Callable[[], str | None] | None = None) -> None:
        """`refresh_url`: where the URL comes from (the Secrets Manager secret); asked again once when the
        server refuses the password, as after a rotation, instead of failing until the next cold start."""
        self.url = url
        self.max_idle = max_idle
        self.refresh_url = refresh_url
        self._idle: list[pg8000.native.Connection] = []
        self._lock = threading.Lock()

    def connect(self) -> pg8000.native.Connection:
        try:
            return Connection(**connect_kwargs(self.url))
        except pg8000.exceptions.DatabaseError as exc:
            if self.refresh_url is None or sqlstate(exc) != INVALID_PASSWORD:
                raise
            fresh = self.refresh_url()  # here, so that a failure to read the secret keeps the refusal as its cause
            if not fresh or fresh == self.url:
                raise
        self.url = fresh
        return Connection(**connect_kwargs(fresh))

    def _acquire(self) -> pg8000.native.Connection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self.connect()

    def _release(self, con: pg8000.native.Connection) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(con)
                return
        _close_quietly(con)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        tx = Tx(self._begin())
        try:
            yield tx
        except BaseException:
            try:
                tx.con.run("ROLLBACK")
            except Exception:  # noqa: BLE001 - the connection is unusable: drop it, keep the first error
                _close_quietly(tx.con)
            else:
                self._release(tx.con)
            raise
        try:
            tx.con.run("COMMIT")
        except BaseException:
            _close_quietly(tx.con)  # closing ends the server's transaction; never pool a half-committed one
            raise
        self._release(tx.con)

    def run_alone(self, sql: str, **params: Any) -> Any:
        """One statement outside a transaction block, so it commits on its own; its first value. For a single
        write that must not hold its locks while the client sends a COMMIT (an audited read)."""
        con, rows = self._first(sql, **params)
        self._release(con)
        return rows[0][0] if rows else None

    def _begin(self) -> pg8000.native.Connection:
        return self._first("START TRANSACTION")[0]

    def _first(self, sql: str, **params: Any) -> tuple[pg8000.native.Connection, Any]:
        """A pooled connection and the rows of its first statement. The connection may have been dropped while
        the container slept (RDS Proxy closes clients idle for 15 minutes): then the statement runs once more,
        on a new connection."""
        con = self._acquire()
        try:
            return con, self._run_or_give_back(con, sql, params)
        except (pg8000.exceptions.InterfaceError, OSError):
            pass
        con = self.connect()
        return con, self._run_or_give_back(con, sql, params)

    def _run_or_give_back(self, con: pg8000.native.Connection, sql: str, params: dict[str, Any]) -> Any:
        try:
            return con.run(sql, **params)
        except pg8000.exceptions.DatabaseError:
            self._release(con)  # the server answered and no transaction is left open
            raise
        except BaseException:
            _close_quietly(con)
            raise

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for con in idle:
            _close_quietly(con)


def _close_quietly(con: pg8000.native.Connection) -> None:
    try:
        con.close()
    except Exception:  # noqa: BLE001 - the connection is being discarded anyway
        pass


def sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of a pg8000 error (empty when it carries none)."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return str(info.get("C", ""))


def violates(exc: BaseException, constraint: str | None = None) -> bool:
    """True for an integrity violation (unique, exclusion, foreign key...) of `constraint`, or of any."""
    if not isinstance(exc, pg8000.exceptions.DatabaseError) or not sqlstate(exc).startswith(INTEGRITY_VIOLATION_CLASS):
        return False
    return constraint is None or exc.args[0].get("n") == constraint


_default: Database | None = None
_default_lock = threading.Lock()


def database() -> Database:
    """The process-wide pool for DATABASE_URL, created on first use."""
    global _default
    with _default_lock:
        if _default is None:
            # A URL read from the secret is read again when its password stops working (a rotation).
            refresh = None if os.environ.get("DATABASE_URL") else refreshed_database_url_from_secret
            _default = Database(settings().database_url, refresh_url=refresh)
        return _default
