"""Credit notes: the document that cancels an issued invoice."""
from __future__ import annotations

from datetime import date
from typing import Any

from . import Tx

COLUMNS = ("id::text AS id, invoice_id::text AS invoice_id, user_id::text AS user_id, number, currency,"
           " subtotal_minor, tax_minor, total_minor, issue_date, reason, pdf_key, pdf_size, pdf_sha256, pdf_etag,"
           " document_recorded_at, created_at")


def insert(tx: Tx, *, invoice_id: str, user_id: str, number: str, currency: str, subtotal_minor: int,
           tax_minor: int, issue_date: date, reason: str | None, pdf_key: str) -> dict[str, Any]:
    return tx.one(
        "INSERT INTO credit_notes (invoice_id, user_id, number, currency, subtotal_minor, tax_minor, total_minor,"
        " issue_date, reason, pdf_key) VALUES (CAST(:i AS uuid), CAST(:u AS uuid), :n, :c, :s, :t,"
        " CAST(:s AS bigint) + CAST(:t AS bigint), :d, :r,"
        f" :k) RETURNING {COLUMNS}",
        i=invoice_id, u=user_id, n=number, c=currency, s=subtotal_minor, t=tax_minor, d=issue_date, r=reason,
        k=pdf_key,
    )


def for_invoice(tx: Tx, invoice_id: str) -> dict[str, Any] | None:
    return tx.one(f"SELECT {COLUMNS} FROM credit_notes WHERE invoice_id = CAST(:i AS uuid)", i=invoice_id)


def get(tx: Tx, credit_note_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    return tx.one(f"SELECT {COLUMNS} FROM credit_notes WHERE id = CAST(:i AS uuid)" + (" FOR UPDATE" if for_update else ""),
                  i=credit_note_id)


def record_document(tx: Tx, credit_note_id: str, key: str, size: int, sha256: str, etag: str) -> bool:
    return tx.execute(
        "UPDATE credit_notes SET pdf_size = :size, pdf_sha256 = :sha, pdf_etag = :etag, document_recorded_at = now()"
        " WHERE id = CAST(:id AS uuid) AND pdf_key = :key AND document_recorded_at IS NULL",
        id=credit_note_id, key=key, size=size, sha=sha256, etag=etag,
    ) == 1
