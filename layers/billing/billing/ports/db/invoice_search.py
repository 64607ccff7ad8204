"""Pages of invoices for the API and the dashboard: status, service period, customer words (blind indexes),
keyset pages both ways."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from . import Tx
from .invoices import INVOICE_COLUMNS

# Names and e-mails are encrypted: the profile's blind indexes must hold every searched word.
CUSTOMER_MATCHES = (
    "EXISTS (SELECT 1 FROM user_profiles p WHERE p.user_id = i.user_id"
    " AND p.search_tokens @> CAST(:customer AS text[]))"
)


def page(tx: Tx, *, user_id: str | None, status: str | None, limit: int, period_from: date | None = None,
         period_to: date | None = None, customer: list[str] | None = None,
         after: tuple[datetime, str] | None = None, before: tuple[datetime, str] | None = None,
         ) -> list[dict[str, Any]]:
    """Newest first. `after` pages towards older invoices; `before` towards newer ones (rows still newest first).

    A period filter keeps the invoices whose service period overlaps [period_from, period_to].
    """
    if after and before:
        raise ValueError("page either after or before a cursor, not both")
    where, params = ["TRUE"], {"limit": limit}
    if user_id:
        where.append("i.user_id = CAST(:user_id AS uuid)")
        params["user_id"] = user_id
    if status:
        where.append("i.status = CAST(:status AS invoice_status)")
        params["status"] = status
    if period_from:
        where.append("i.period_end >= :period_from")
        params["period_from"] = period_from
    if period_to:
        where.append("i.period_start <= :period_to")
        params["period_to"] = period_to
    if customer:
        where.append(CUSTOMER_MATCHES)
        params["customer"] = customer
    order = "DESC"
    if after:
        where.append("(i.created_at, i.id) < (:cursor_at, CAST(:cursor_id AS uuid))")
        params["cursor_at"], params["cursor_id"] = after
    elif before:
        where.append("(i.created_at, i.id) > (:cursor_at, CAST(:cursor_id AS uuid))")
        params["cursor_at"], params["cursor_id"] = before
        order = "ASC"  # the nearest newer rows first; the caller reverses them
    rows = tx.all(
        f"SELECT {INVOICE_COLUMNS} FROM invoices i WHERE {' AND '.join(where)} "
        f"ORDER BY i.created_at {order}, i.id {order} LIMIT :limit",
        **params,
    )
    return rows[::-1] if before else rows
