"""PATCH an invoice (admin): status moves with their effects; due date and notes while it is a DRAFT."""
from __future__ import annotations

from datetime import date
from typing import Any

from billing.domain.errors import InvalidRequest, InvoiceImmutable, InvoiceNotFound
from billing.domain.status import check_transition
from billing.ports.db import Database, database, invoices
from billing.services import audit

from .cancel import cancel_invoice
from .finalize import issue_invoice
from .overdue import remind_overdue
from .changes import invoices_changed

UNSET: Any = object()


def update_invoice(invoice_id: str, *, status: str | None = None, due_date: date | None = UNSET,
                   notes: str | None = UNSET, today: date | None = None, db: Database | None = None) -> dict[str, Any]:
    db = db or database()
    with db.transaction() as tx:
        invoice = invoices.get(tx, invoice_id, for_update=True)
        if invoice is None:
            raise InvoiceNotFound()
        if due_date is not UNSET:
            if invoice["status"] != "DRAFT":
                raise InvoiceImmutable(f"The due date of issued invoice {invoice['number']} is frozen")
            if due_date is None:
                raise InvalidRequest("dueDate cannot be removed", code="invalid_due_date")
        if status and status != invoice["status"]:
            check_transition(invoice["status"], status)  # refuse before writing anything
        fields = {k: v for k, v in (("due_date", due_date), ("notes", notes)) if v is not UNSET}
        invoices.set_fields(tx, invoice_id, **fields)
        if fields:
            audit.record(tx, "invoice.updated", "invoice", invoice_id, fields=sorted(fields))
        if status in ("PAID", "OVERDUE") and status != invoice["status"]:
            invoices.set_status(tx, invoice_id, status)
            audit.record(tx, "invoice.status", "invoice", invoice_id, **{"from": invoice["status"], "to": status})
    if status == "OVERDUE" and invoice["status"] != "OVERDUE":
        remind_overdue(invoice_id, db=db)
    if status == "SENT" and invoice["status"] == "DRAFT":
        return issue_invoice(invoice_id, today=today, db=db)
    if status == "CANCELLED" and invoice["status"] != "CANCELLED":
        return cancel_invoice(invoice_id, today=today, db=db)
    with db.transaction() as tx:
        updated = invoices.get(tx, invoice_id)
        updated["items"] = invoices.items(tx, invoice_id)
    invoices_changed(updated["user_id"])
    return updated
