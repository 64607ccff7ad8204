"""Cancel an invoice: a DRAFT simply ends; an issued one gets a credit note for what remains due."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from billing.domain.errors import DependencyUnavailable, InvoiceNotFound
from billing.domain.money import round_half_up
from billing.domain.numbering import format_number
from billing.domain.status import check_transition
from billing.ports.db import Database, credit_notes, database, invoices, numbers
from billing.services import audit

from .document import document_key, store_credit_note
from .changes import invoices_changed

logger = Logger(child=True)


def cancel_invoice(invoice_id: str, *, reason: str | None = None, today: date | None = None,
                   db: Database | None = None) -> dict[str, Any]:
    """Returns the cancelled invoice, with `credit_note` when one was issued."""
    db = db or database()
    today = today or date.today()
    with db.transaction() as tx:
        invoice = invoices.get(tx, invoice_id, for_update=True)
        if invoice is None:
            raise InvoiceNotFound()
        check_transition(invoice["status"], "CANCELLED")
        note = None
        if invoice["number"]:
            # What remains due: the total less credits applied and net payments received.
            remaining = invoice["total_minor"] - invoice["credits_applied_minor"] - invoice["paid_minor"]
            tax = round_half_up(Decimal(remaining) * Decimal(invoice["tax_minor"]) / Decimal(invoice["total_minor"])) \
                if invoice["total_minor"] else 0
            number = format_number("AVO", today.year, numbers.next_value(tx, "AVO", today.year))
            note = credit_notes.insert(
                tx, invoice_id=invoice_id, user_id=invoice["user_id"], number=number, currency=invoice["currency"],
                subtotal_minor=remaining - tax, tax_minor=tax, issue_date=today, reason=reason,
                pdf_key=document_key(invoice["user_id"], invoice_id, number, datetime.now(timezone.utc)),
            )
        invoices.set_status(tx, invoice_id, "CANCELLED")
        audit.record(tx, "invoice.status", "invoice", invoice_id, **{"from": invoice["status"], "to": "CANCELLED"},
                     credit_note=note and note["number"])
        invoice = invoices.get(tx, invoice_id)
        invoice["items"] = invoices.items(tx, invoice_id)
    invoices_changed(invoice["user_id"])
    if note:
        try:
            store_credit_note(invoice, note)
        except Exception as exc:  # noqa: BLE001 - the credit note keeps its number; its PDF can be stored again
            logger.exception("credit note PDF not stored", extra={"credit_note_id": note["id"]})
            raise DependencyUnavailable(f"Credit note {note['number']} was issued but its PDF could not be stored",
                                        invoiceId=invoice_id, creditNoteId=note["id"]) from exc
    invoice["credit_note"] = note
    return invoice
