"""Past-due invoices: SENT invoices past their due date become OVERDUE, with an alert and a reminder."""
from __future__ import annotations

from datetime import date

from aws_lambda_powertools import Logger

from billing.domain.errors import EmailFailed
from billing.ports import mail
from billing.ports.db import Database, alerts, database, invoices
from billing.services import audit

from .email import compose
from .changes import invoices_changed

logger = Logger(child=True)
REMINDER = {"fr": "Rappel : ", "en": "Reminder: "}


def mark_overdue(today: date, *, db: Database | None = None) -> list[str]:
    """Returns the ids of the invoices that became OVERDUE."""
    db = db or database()
    with db.transaction() as tx:
        due = [r["id"] for r in tx.all(
            "SELECT id::text AS id FROM invoices WHERE status = 'SENT' AND due_date < :today FOR UPDATE SKIP LOCKED",
            today=today)]
        for invoice_id in due:
            invoices.set_status(tx, invoice_id, "OVERDUE")
            audit.record(tx, "invoice.status", "invoice", invoice_id, **{"from": "SENT", "to": "OVERDUE"})
    if due:
        invoices_changed()  # the all-customers pages; each customer's below, with its reminder
    for invoice_id in due:
        remind_overdue(invoice_id, db=db)
    return due


def remind_overdue(invoice_id: str, *, db: Database) -> bool:
    """Raise the INVOICE_OVERDUE alert (once per invoice) and e-mail a reminder; mail failures are logged."""
    with db.transaction() as tx:
        invoice = invoices.get(tx, invoice_id)
        alert = alerts.raise_alert(tx, invoice["user_id"], "INVOICE_OVERDUE",
                                   f"Invoice {invoice['number']} is overdue since {invoice['due_date']}", invoice_id)
    invoices_changed(invoice["user_id"])
    if alert is None:
        return False
    subject, text, html = compose(invoice)
    language = "fr" if invoice["locale"].startswith("fr") else "en"
    try:
        mail.send(invoice["buyer"]["email"], REMINDER[language] + subject, text, html=html)
    except EmailFailed:
        logger.warning("overdue reminder not mailed", extra={"invoice_id": invoice_id})
    return True
