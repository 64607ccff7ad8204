"""Payments received against invoices; (provider, provider transaction id) is unique."""
from __future__ import annotations

from typing import Any

from . import Tx

PAYMENT_COLUMNS = ("id::text AS id, invoice_id::text AS invoice_id, amount_minor, currency, status::text AS status,"
                   " provider, provider_transaction_id, received_at")


def find(tx: Tx, provider: str, transaction_id: str) -> dict[str, Any] | None:
    return tx.one(f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE provider = :p AND provider_transaction_id = :t",
                  p=provider, t=transaction_id)


def insert(tx: Tx, *, invoice_id: str, amount_minor: int, currency: str, status: str, provider: str,
           transaction_id: str) -> dict[str, Any] | None:
    """The new payment, or None when that provider transaction was already recorded (a concurrent replay)."""
    return tx.one(
        "INSERT INTO payments (invoice_id, amount_minor, currency, status, provider, provider_transaction_id) "
        "VALUES (CAST(:i AS uuid), :a, :c, CAST(:s AS payment_status), :p, :t) "
        f"ON CONFLICT (provider, provider_transaction_id) DO NOTHING RETURNING {PAYMENT_COLUMNS}",
        i=invoice_id, a=amount_minor, c=currency, s=status, p=provider, t=transaction_id,
    )


def for_invoice(tx: Tx, invoice_id: str) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE invoice_id = CAST(:i AS uuid) ORDER BY received_at",
                  i=invoice_id)
