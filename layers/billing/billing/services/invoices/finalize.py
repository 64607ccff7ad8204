"""Issue a DRAFT: apply credits, give it the next gapless number, freeze it, then render and store its PDF."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from aws_lambda_powertools import Logger

from billing.config import settings
from billing.domain.errors import DependencyUnavailable, InvoiceNotFound
from billing.domain.numbering import format_number
from billing.domain.status import check_transition
from billing.domain.credits import allocate
from billing.ports.db import Database, credits, database, invoices, numbers
from billing.services import audit

from .document import document_key, store_document
from .changes import invoices_changed

logger = Logger(child=True)


def issue_invoice(invoice_id: str, *, today: date | None = None, db: Database | None = None) -> dict[str, Any]:
    db = db or database()
    issued_at = datetime.now(timezone.utc)
    today = today or issued_at.date()
    # Short transaction: the year's sequence row is locked from the increment to the commit, so a rollback
    # returns the number and no two issues interleave. Rendering happens after, outside the lock.
    with db.transaction() as tx:
        invoice = invoices.get(tx, invoice_id, for_update=True)
        if invoice is None:
            raise InvoiceNotFound()
        check_transition(invoice["status"], "SENT")
        applications = allocate(credits.available_for_update(tx, invoice["user_id"], invoice["currency"]),
                                invoice["total_minor"], today)
        credits.record_applications(tx, invoice_id, applications)
        applied = sum(amount for _, amount in applications)
        number = format_number("INV", today.year, numbers.next_value(tx, "INV", today.year))
        # One statement sets the credits, the number and the dates and returns the issued row (no re-read).
        invoice = invoices.mark_issued(
            tx, invoice_id, number=number, issue_date=today,
            due_date=today + timedelta(days=settings().due_days),
            pdf_key=document_key(invoice["user_id"], invoice_id, number, issued_at), issued_at=issued_at,
            credits_applied_minor=applied,
        )
        audit.record(tx, "invoice.issued", "invoice", invoice_id, number=number, credits_applied=applied)
        invoice["items"] = invoices.items(tx, invoice_id)
    invoices_changed(invoice["user_id"])
    try:
        store_document(invoice)
    except Exception as exc:  # noqa: BLE001 - rendering or storage: either way the number stays given
        # The number stays given (no gap); the PDF is rendered again from the frozen invoice on first download.
        logger.exception("issued invoice's PDF not stored", extra={"invoice_id": invoice_id})
        raise DependencyUnavailable(f"Invoice {number} was issued but its PDF could not be stored yet",
                                    invoiceId=invoice_id, number=number) from exc
    return invoice
