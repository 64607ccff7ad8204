"""Each dependency's state: PostgreSQL, Redis, the document bucket."""
from __future__ import annotations

from billing.ports import cache
from billing.ports.db import database
from billing.ports.storage import storage


def _database() -> str | None:
    try:
        with database().transaction() as tx:
            tx.value("SELECT 1")
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "down"; the kind is reported
        return type(exc).__name__


def check_health() -> dict[str, dict[str, str]]:
    checks = {"database": _database, "cache": cache.health, "storage": lambda: storage().health()}
    report = {}
    for name, check in checks.items():
        error = check()
        report[name] = {"status": "up"} if error is None else {"status": "down", "error": error}
    return report
