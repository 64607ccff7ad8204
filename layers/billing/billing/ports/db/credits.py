"""Customer credits and their applications to invoices."""
from __future__ import annotations

from datetime import date
from typing import Any

from billing.domain.credits import AvailableCredit

from . import Tx

CREDIT_COLUMNS = """
    c.id::text AS id, c.user_id::text AS user_id, c.type::text AS type, c.amount_minor, c.currency, c.reason,
    c.expires_on, c.created_at,
    c.amount_minor - COALESCE((SELECT sum(a.amount_minor) FROM credit_applications a WHERE a.credit_id = c.id), 0)::bigint
        AS remaining_minor
"""


def insert(tx: Tx, *, user_id: str, type: str, amount_minor: int, currency: str, reason: str,
           expires_on: date | None) -> dict[str, Any]:
    credit_id = tx.value(
        "INSERT INTO credits (user_id, type, amount_minor, currency, reason, expires_on) "
        "VALUES (CAST(:u AS uuid), CAST(:t AS credit_type), :a, :c, :r, :e) RETURNING id::text",
        u=user_id, t=type, a=amount_minor, c=currency, r=reason, e=expires_on,
    )
    return tx.one(f"SELECT {CREDIT_COLUMNS} FROM credits c WHERE c.id = CAST(:id AS uuid)", id=credit_id)


def available_for_update(tx: Tx, user_id: str, currency: str) -> list[AvailableCredit]:
    """The customer's credits in this currency, locked until the issuing transaction ends."""
    rows = tx.all(
        "SELECT c.id::text AS id, c.expires_on, c.amount_minor - COALESCE((SELECT sum(a.amount_minor)"
        " FROM credit_applications a WHERE a.credit_id = c.id), 0)::bigint AS remaining_minor "
        "FROM credits c WHERE c.user_id = CAST(:u AS uuid) AND c.currency = :c "
        "ORDER BY c.created_at, c.id FOR UPDATE",
        u=user_id, c=currency,
    )
    return [AvailableCredit(r["id"], r["remaining_minor"], r["expires_on"], n) for n, r in enumerate(rows)]


def record_applications(tx: Tx, invoice_id: str, applications: list[tuple[str, int]]) -> None:
    if applications:
        tx.execute(
            "INSERT INTO credit_applications (credit_id, invoice_id, amount_minor) "
            "SELECT c, CAST(:invoice AS uuid), a FROM unnest(CAST(:credits AS uuid[]), CAST(:amounts AS bigint[]))"
            " AS t(c, a)",
            invoice=invoice_id, credits=[c for c, _ in applications], amounts=[a for _, a in applications],
        )
