"""Applies the numbered SQL files of billing/migrations that are missing, one transaction each."""
from __future__ import annotations

import re
from importlib import resources

import pg8000.native

from . import connect_kwargs

FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
LOCK_ID = 7_294_113  # advisory lock: two migrators never interleave


def migration_files() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("billing.migrations").iterdir():
        match = FILE_RE.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(url: str, log=print) -> list[str]:
    con = pg8000.native.Connection(**connect_kwargs(url))
    try:
        con.run("SELECT pg_advisory_lock(:id)", id=LOCK_ID)
        con.run(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in con.run("SELECT version FROM schema_migrations")}
        applied = []
        for version, name, sql in migration_files():
            if version in done:
                continue
            con.run("START TRANSACTION")
            try:
                con.execute_simple(sql)
                con.run("INSERT INTO schema_migrations (version, name) VALUES (:v, :n)", v=version, n=name)
                con.run("COMMIT")
            except BaseException:
                con.run("ROLLBACK")
                raise
            log(f"applied {name}")
            applied.append(name)
        return applied
    finally:
        try:
            con.run("SELECT pg_advisory_unlock(:id)", id=LOCK_ID)
        finally:
            con.close()
