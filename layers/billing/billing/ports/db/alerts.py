"""Billing alerts, at most one per (customer, type, invoice) for invoice alerts."""
from __future__ import annotations

from typing import Any

from . import Tx

COLUMNS = ("id::text AS id, user_id::text AS user_id, type::text AS type, message, invoice_id::text AS invoice_id,"
           " created_at, resolved_at")


def raise_alert(tx: Tx, user_id: str, type: str, message: str, invoice_id: str | None = None) -> dict[str, Any]:
    return tx.one(
        "INSERT INTO billing_alerts (user_id, type, message, invoice_id) "
        f"VALUES (CAST(:u AS uuid), CAST(:t AS billing_alert_type), :m, CAST(:i AS uuid)) RETURNING {COLUMNS}",
        u=user_id, t=type, m=message, i=invoice_id,
    )


def for_user(tx: Tx, user_id: str | None, limit: int = 100) -> list[dict[str, Any]]:
    where = "WHERE user_id = CAST(:u AS uuid)" if user_id else ""
    return tx.all(f"SELECT {COLUMNS} FROM billing_alerts {where} ORDER BY created_at DESC LIMIT :l",
                  **({"u": user_id} if user_id else {}), l=limit)
