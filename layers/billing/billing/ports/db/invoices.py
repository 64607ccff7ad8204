"""Invoices and their items."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from . import Tx
from .. import crypto

INVOICE_COLUMNS = """
    i.id::text AS id, i.user_id::text AS user_id, i.number, i.status::text AS status, i.currency,
    i.period_type, i.period_start, i.period_end, i.issue_date, i.due_date,
    i.subtotal_minor, i.tax_rate, i.tax_minor, i.total_minor, i.notes, i.send_requested,
    i.buyer, i.seller, i.locale, i.pdf_key, i.pdf_size, i.pdf_sha256, i.pdf_etag,
    i.document_recorded_at, i.emailed_at, i.issued_at, i.paid_at, i.cancelled_at, i.created_at, i.updated_at,
    i.tax_category, i.tax_mention, i.credits_applied_minor, i.archived_at, i.pdf_corrupt_at,
    (SELECT COALESCE(sum(CASE p.status WHEN 'COMPLETED' THEN p.amount_minor WHEN 'REFUNDED' THEN -p.amount_minor
                              ELSE 0 END), 0)::bigint  -- sum(bigint) is numeric: keep integers integers
       FROM payments p WHERE p.invoice_id = i.id) AS paid_minor
"""


def insert_draft(tx: Tx, *, user_id: str, currency: str, period_type: str, period_start: date, period_end: date,
                 subtotal_minor: int, tax_rate: Decimal, tax_minor: int, total_minor: int, send_requested: bool,
                 buyer: dict[str, Any], seller: dict[str, Any], locale: str, tax_category: str,
                 tax_mention: str | None) -> str:
    invoice_id = str(uuid.uuid4())  # chosen here: the encrypted buyer is bound to it
    sealed = {"enc": crypto.encrypt(tx, json.dumps(buyer), "invoices", "buyer", invoice_id)}
    return tx.value(
        "INSERT INTO invoices (id, user_id, currency, period_type, period_start, period_end, subtotal_minor, tax_rate,"
        " tax_minor, total_minor, send_requested, buyer, seller, locale, tax_category, tax_mention) "
        "VALUES (CAST(:id AS uuid), CAST(:user_id AS uuid), :currency, :period_type, :period_start, :period_end,"
        " :subtotal, :tax_rate, :tax, :total, :send, CAST(:buyer AS jsonb), CAST(:seller AS jsonb), :locale,"
        " :category, :mention) RETURNING id::text",
        id=invoice_id, user_id=user_id, currency=currency, period_type=period_type, period_start=period_start,
        period_end=period_end, subtotal=subtotal_minor, tax_rate=tax_rate, tax=tax_minor, total=total_minor,
        send=send_requested, buyer=json.dumps(sealed), seller=json.dumps(seller), locale=locale,
        category=tax_category, mention=tax_mention,
    )


def insert_items(tx: Tx, invoice_id: str, items: list[dict[str, Any]]) -> None:
    tx.execute(
        "INSERT INTO invoice_items (invoice_id, position, kind, description, quantity, unit_price_minor,"
        " base_quantity, amount_minor) "
        "SELECT CAST(:invoice_id AS uuid), * FROM unnest(CAST(:positions AS integer[]), CAST(:kinds AS text[]),"
        " CAST(:descriptions AS text[]), CAST(:quantities AS bigint[]), CAST(:unit_prices AS bigint[]),"
        " CAST(:bases AS integer[]), CAST(:amounts AS bigint[]))",
        invoice_id=invoice_id,
        positions=[i + 1 for i in range(len(items))],
        kinds=[it["kind"] for it in items],
        descriptions=[it["description"] for it in items],
        quantities=[it["quantity"] for it in items],
        unit_prices=[it["unit_price_minor"] for it in items],
        bases=[it["base_quantity"] for it in items],
        amounts=[it["amount_minor"] for it in items],
    )


def live_invoice_near(tx: Tx, user_id: str, start: date, end: date) -> tuple[str, bool] | None:
    """The live invoice for exactly this period (id, True), else one overlapping it (id, False), else None."""
    row = tx.one(
        "SELECT id::text AS id, (period_start = :s AND period_end = :e) AS exact FROM invoices"
        " WHERE user_id = CAST(:u AS uuid) AND status <> 'CANCELLED'"
        " AND daterange(period_start, period_end, '[]') && daterange(:s, :e, '[]') ORDER BY 2 DESC LIMIT 1",
        u=user_id, s=start, e=end,
    )
    return (row["id"], row["exact"]) if row else None


def get(tx: Tx, invoice_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    row = tx.one(
        f"SELECT {INVOICE_COLUMNS} FROM invoices i WHERE i.id = CAST(:id AS uuid)" + (" FOR UPDATE" if for_update else ""),
        id=invoice_id,
    )
    return row and open_buyer(tx, row)


def open_buyer(tx: Tx, row: dict[str, Any]) -> dict[str, Any]:
    """Decrypts the frozen buyer identity in place (rows read elsewhere, e.g. from a cache, keep it sealed)."""
    buyer = row.get("buyer")
    if isinstance(buyer, dict) and "enc" in buyer:
        row["buyer"] = json.loads(crypto.decrypt(tx, buyer["enc"], "invoices", "buyer", row["id"]))
    return row


def items(tx: Tx, invoice_id: str) -> list[dict[str, Any]]:
    return tx.all(
        "SELECT position, kind, description, quantity, unit_price_minor, base_quantity, amount_minor "
        "FROM invoice_items WHERE invoice_id = CAST(:id AS uuid) ORDER BY position",
        id=invoice_id,
    )


def mark_issued(tx: Tx, invoice_id: str, *, number: str, issue_date: date, due_date: date, pdf_key: str,
                issued_at: datetime, credits_applied_minor: int) -> dict[str, Any] | None:
    """Issue a DRAFT in one statement; returns the issued invoice as `get` reads it (None unless it was a DRAFT)."""
    row = tx.one(
        "UPDATE invoices AS i SET status = 'SENT', number = :number, issue_date = :issue,"
        " due_date = COALESCE(i.due_date, :due), pdf_key = :key, issued_at = :at, credits_applied_minor = :credits,"
        f" updated_at = now() WHERE i.id = CAST(:id AS uuid) AND i.status = 'DRAFT' RETURNING {INVOICE_COLUMNS}",
        id=invoice_id, number=number, issue=issue_date, due=due_date, key=pdf_key, at=issued_at,
        credits=credits_applied_minor,
    )
    return row and open_buyer(tx, row)


def record_document(tx: Tx, invoice_id: str, key: str, size: int, sha256: str, etag: str) -> bool:
    """True when this call recorded the document; False when it was already recorded (duplicate event)."""
    return tx.execute(
        "UPDATE invoices SET pdf_size = :size, pdf_sha256 = :sha, pdf_etag = :etag,"
        " document_recorded_at = now(), updated_at = now() "
        "WHERE id = CAST(:id AS uuid) AND pdf_key = :key AND document_recorded_at IS NULL",
        id=invoice_id, key=key, size=size, sha=sha256, etag=etag,
    ) == 1


def mark_emailed(tx: Tx, invoice_id: str) -> bool:
    return tx.execute(
        "UPDATE invoices SET emailed_at = now() WHERE id = CAST(:id AS uuid) AND emailed_at IS NULL", id=invoice_id
    ) == 1


def set_status(tx: Tx, invoice_id: str, status: str) -> None:
    """Moves the status and stamps when it became PAID or CANCELLED (cleared again when a refund reopens it)."""
    tx.execute(
        "UPDATE invoices SET status = CAST(:status AS invoice_status),"
        " paid_at = CASE WHEN :status = 'PAID' THEN COALESCE(paid_at, now()) ELSE NULL END,"
        " cancelled_at = CASE WHEN :status = 'CANCELLED' THEN now() ELSE cancelled_at END,"
        " updated_at = now() WHERE id = CAST(:id AS uuid)",
        id=invoice_id, status=status,
    )


def set_fields(tx: Tx, invoice_id: str, **fields: Any) -> None:
    """Updates the editable fields given (due_date, notes, send_requested)."""
    allowed = {"due_date", "notes", "send_requested"}
    if not fields:
        return
    if not set(fields) <= allowed:
        raise ValueError(f"not editable: {sorted(set(fields) - allowed)}")
    assignments = ", ".join(f"{name} = :{name}" for name in sorted(fields))
    tx.execute(f"UPDATE invoices SET {assignments}, updated_at = now() WHERE id = CAST(:id AS uuid)",
               id=invoice_id, **fields)


def set_emailed(tx: Tx, invoice_id: str) -> None:
    tx.execute("UPDATE invoices SET emailed_at = now() WHERE id = CAST(:id AS uuid)", id=invoice_id)


def mark_corrupt(tx: Tx, invoice_id: str, key: str) -> None:
    tx.execute("UPDATE invoices SET pdf_corrupt_at = now() WHERE id = CAST(:id AS uuid) AND pdf_key = :key",
               id=invoice_id, key=key)


def to_archive(tx: Tx, issued_before: date, limit: int) -> list[dict[str, Any]]:
    return tx.all(
        "SELECT id::text AS id, user_id::text AS user_id, status::text AS status, pdf_key FROM invoices"
        " WHERE archived_at IS NULL AND number IS NOT NULL AND issue_date < :before AND pdf_key LIKE 'invoices/%'"
        " ORDER BY issue_date LIMIT :limit",
        before=issued_before, limit=limit,
    )


def mark_archived(tx: Tx, invoice_id: str, old_key: str, new_key: str) -> bool:
    return tx.execute(
        "UPDATE invoices SET pdf_key = :new, archived_at = now(), updated_at = now()"
        " WHERE id = CAST(:id AS uuid) AND pdf_key = :old AND archived_at IS NULL",
        id=invoice_id, old=old_key, new=new_key,
    ) == 1


def unrecorded(tx: Tx, issued_before: datetime, limit: int) -> list[str]:
    rows = tx.con.run(
        "SELECT id::text FROM invoices WHERE document_recorded_at IS NULL AND number IS NOT NULL"
        " AND archived_at IS NULL AND issued_at < :before ORDER BY issued_at LIMIT :limit",
        before=issued_before, limit=limit,
    )
    return [r[0] for r in rows]
