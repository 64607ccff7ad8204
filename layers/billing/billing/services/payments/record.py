"""Record a payment: partial payments add up, PAID once covered, a refund reopens; replays record nothing."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from billing.domain.errors import CurrencyMismatch, InvoiceNotFound, InvoiceNotPayable
from billing.domain.status import after_payments
from billing.ports.db import Database, alerts, database, invoices, payments
from billing.services.alerts.notify import notify
from billing.services.invoices.changes import invoices_changed
from billing.services import audit


@dataclass(frozen=True)
class PaymentInput:
    amount_minor: int
    currency: str
    provider: str
    provider_transaction_id: str
    status: str  # COMPLETED | FAILED | PENDING | REFUNDED


def record_payment(invoice_id: str, data: PaymentInput, *, today: date | None = None,
                   db: Database | None = None) -> tuple[dict[str, Any], bool]:
    """(payment, created): created is False when this provider transaction was already recorded."""
    today, db = today or date.today(), db or database()
    with db.transaction() as tx:
        invoice = invoices.get(tx, invoice_id, for_update=True)
        if invoice is None:
            raise InvoiceNotFound()
        existing = payments.find(tx, data.provider, data.provider_transaction_id)
        if existing:
            if existing["invoice_id"] != invoice_id:
                raise InvoiceNotPayable("This provider transaction was recorded against another invoice")
            return existing, False
        if invoice["status"] in ("DRAFT", "CANCELLED"):
            raise InvoiceNotPayable(f"A {invoice['status']} invoice takes no payment")
        if data.currency != invoice["currency"].strip():
            raise CurrencyMismatch(f"The invoice is in {invoice['currency']}, not {data.currency}")
        payment = payments.insert(tx, invoice_id=invoice_id, amount_minor=data.amount_minor, currency=data.currency,
                                  status=data.status, provider=data.provider,
                                  transaction_id=data.provider_transaction_id)
        if payment is None:  # recorded by a concurrent replay between our look-up and insert
            return payments.find(tx, data.provider, data.provider_transaction_id), False
        raised = [alerts.raise_alert(tx, invoice["user_id"], "PAYMENT_FAILED",
                                     f"A payment of invoice {invoice['number']} failed", invoice_id)
                  ] if data.status == "FAILED" else []
        paid = invoices.get(tx, invoice_id)["paid_minor"]
        due = invoice["total_minor"] - invoice["credits_applied_minor"]
        status = after_payments(invoice["status"], paid >= due, invoice["due_date"] < today)
        audit.record(tx, "payment.recorded", "invoice", invoice_id, payment_id=payment["id"],
                     amount=data.amount_minor, status=data.status, provider=data.provider)
        if status != invoice["status"]:
            invoices.set_status(tx, invoice_id, status)
            audit.record(tx, "invoice.status", "invoice", invoice_id, **{"from": invoice["status"], "to": status})
    invoices_changed(invoice["user_id"])
    notify([a for a in raised if a], db=db)
    return payment, True
