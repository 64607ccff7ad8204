"""Each dependency's state: PostgreSQL, Redis, the document bucket (the reason is logged, not published)."""
from __future__ import annotations

from aws_lambda_powertools import Logger

from billing.ports import cache
from billing.ports.db import database
from billing.ports.storage import storage

logger = Logger(child=True)


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
        if error is not None:
            logger.warning("dependency down", extra={"dependency": name, "error": error})
        report[name] = {"status": "up" if error is None else "down"}
    return report
