"""Send an invoice by e-mail now: a DRAFT is issued first; the PDF goes out attached."""
from __future__ import annotations

from datetime import date
from typing import Any

from billing.domain.caller import Caller
from billing.domain.errors import InvalidTransition
from billing.ports.db import Database, database, invoices
from billing.ports.storage import Storage, storage
from billing.services import audit

from .document import render_pdf, store_document
from .email import email_invoice
from .finalize import issue_invoice
from .query import get_invoice
from .changes import invoices_changed


def send_invoice(caller: Caller, invoice_id: str, *, today: date | None = None, db: Database | None = None,
                 store: Storage | None = None) -> dict[str, Any]:
    """Raises EmailFailed (502) when the mail cannot go out; the invoice is then left as it was."""
    db, store = db or database(), store or storage()
    invoice = get_invoice(caller, invoice_id, db=db)
    if invoice["status"] == "DRAFT":
        invoice = issue_invoice(invoice_id, today=today, db=db)
    elif invoice["status"] == "CANCELLED":
        raise InvalidTransition("CANCELLED", "SENT")
    if store.exists(invoice["pdf_key"]):
        body = store.get(invoice["pdf_key"]).body
    else:
        store_document(invoice, store=store)
        body = render_pdf(invoice, invoice["items"])
    email_invoice(invoice, body)
    with db.transaction() as tx:
        invoices.set_emailed(tx, invoice_id)
        audit.record(tx, "invoice.emailed", "invoice", invoice_id, via="send")
        invoice = _with_items(tx, invoice_id)
    invoices_changed(invoice["user_id"])
    return invoice


def _with_items(tx, invoice_id: str) -> dict[str, Any]:
    invoice = invoices.get(tx, invoice_id)
    invoice["items"] = invoices.items(tx, invoice_id)
    return invoice
