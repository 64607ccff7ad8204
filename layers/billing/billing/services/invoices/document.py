"""The invoice PDF: render it from the frozen invoice, store it, and record it when S3 says it landed."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from billing.domain import format as fmt
from billing.domain.ids import is_uuid
from billing.domain.money import Money
from billing.ports import mail, pdf
from billing.ports.db import Database, database, invoices
from billing.ports.storage import Storage, storage

logger = Logger(child=True)

LABELS = {
    "fr": {
        "title": "Facture", "number": "N° de facture", "issued": "Date d'émission", "due": "Date d'échéance",
        "period": "Période de service", "seller": "Émetteur", "buyer": "Client", "description": "Désignation",
        "quantity": "Quantité", "unit_price": "Prix unitaire HT", "amount": "Montant HT", "subtotal": "Total HT",
        "vat": "TVA", "total": "Total TTC", "amount_due": "Net à payer", "siren": "SIREN", "vat_number": "N° TVA",
        "per_1000": "les 1 000", "payment": "Paiement par virement — IBAN",
        "penalties": "En cas de retard de paiement, pénalités au taux de trois fois le taux d'intérêt légal, "
                     "exigibles sans rappel. Pas d'escompte pour paiement anticipé.",
        "indemnity": "Indemnité forfaitaire pour frais de recouvrement : 40 € (art. L441-10 et D441-5 du Code de commerce).",
        "to": "au",
    },
    "en": {
        "title": "Invoice", "number": "Invoice number", "issued": "Issue date", "due": "Due date",
        "period": "Service period", "seller": "From", "buyer": "Bill to", "description": "Description",
        "quantity": "Quantity", "unit_price": "Unit price (excl. VAT)", "amount": "Amount (excl. VAT)",
        "subtotal": "Subtotal", "vat": "VAT", "total": "Total", "amount_due": "Amount due", "siren": "SIREN",
        "vat_number": "VAT number", "per_1000": "per 1,000", "payment": "Payment by bank transfer — IBAN",
        "penalties": "Late payment penalties at three times the French legal interest rate, due without reminder. "
                     "No discount for early payment.",
        "indemnity": "Fixed compensation for recovery costs: €40 (French Commercial Code, art. L441-10 and D441-5).",
        "to": "to",
    },
}


def document_key(user_id: str, invoice_id: str, number: str, at: datetime) -> str:
    stamp = at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"invoices/{user_id}/{invoice_id}_{number}_{stamp}.pdf"


def render_context(invoice: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    locale, currency = invoice["locale"], invoice["currency"]
    labels = LABELS["fr" if locale.startswith("fr") else "en"]

    def m(minor: int) -> str:
        return fmt.money(Money(minor, currency), locale)

    rate = Decimal(invoice["tax_rate"]) * 100
    return {
        "l": labels,
        "invoice": invoice,
        "seller": invoice["seller"],
        "buyer": invoice["buyer"],
        "issue_date": fmt.day(invoice["issue_date"], locale),
        "due_date": fmt.day(invoice["due_date"], locale),
        "period": f"{fmt.day(invoice['period_start'], locale)} {labels['to']} {fmt.day(invoice['period_end'], locale)}",
        "lines": [
            {
                "description": it["description"],
                "quantity": fmt.number(it["quantity"], locale),
                "unit_price": m(it["unit_price_minor"]) + (f" {labels['per_1000']}" if it["base_quantity"] == 1000 else ""),
                "amount": m(it["amount_minor"]),
            }
            for it in items
        ],
        "subtotal": m(invoice["subtotal_minor"]),
        "vat_rate": f"{rate.normalize():f} %",
        "tax": m(invoice["tax_minor"]),
        "total": m(invoice["total_minor"]),
        "amount_due": m(invoice["total_minor"]),
    }


def render_pdf(invoice: dict[str, Any], items: list[dict[str, Any]]) -> bytes:
    return pdf.html_to_pdf(pdf.render_html("invoice.html", render_context(invoice, items)))


def store_document(invoice: dict[str, Any], *, store: Storage | None = None) -> str:
    """Render the issued invoice (with its items) and put it at the key chosen when it was issued. Safe to repeat."""
    body = render_pdf(invoice, invoice["items"])
    digest = hashlib.sha256(body).hexdigest()
    generated_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    (store or storage()).put(
        invoice["pdf_key"], body,
        metadata={
            "invoice-id": invoice["id"], "invoice-number": invoice["number"], "user-id": invoice["user_id"],
            "generated-at": generated_at, "file-size": str(len(body)), "status": invoice["status"],
            "total": str(invoice["total_minor"]), "currency": invoice["currency"], "sha256": digest,
        },
        tags={"type": "invoice", "userId": invoice["user_id"], "invoiceId": invoice["id"], "status": invoice["status"]},
    )
    logger.info("invoice document stored", extra={"invoice_id": invoice["id"], "key": invoice["pdf_key"],
                                                   "size": len(body)})
    return invoice["pdf_key"]


def record_stored_document(key: str, *, db: Database | None = None, store: Storage | None = None) -> str:
    """Handle one ObjectCreated: verify the object, record it once, then e-mail it once if asked.

    Returns what happened: recorded | duplicate | unknown | corrupt. Recording commits before any mail is
    attempted, so an SMTP outage never loses the record; a failed mail raises and the event is retried.
    """
    db = db or database()
    obj = (store or storage()).get(key)
    meta = obj.metadata
    digest = hashlib.sha256(obj.body).hexdigest()
    if meta.get("sha256") != digest or meta.get("file-size") != str(obj.size):
        logger.error("stored document does not match its metadata", extra={"key": key})
        return "corrupt"
    invoice_id = meta.get("invoice-id", "")
    with db.transaction() as tx:
        invoice = invoices.get(tx, invoice_id) if is_uuid(invoice_id) else None
        if invoice is None or invoice["pdf_key"] != key:
            logger.warning("document for no known invoice", extra={"key": key})
            return "unknown"
        recorded = invoices.record_document(tx, invoice_id, key, obj.size, digest, obj.etag)
    if invoice["send_requested"]:
        send_once(invoice_id, obj.body, db=db)
    return "recorded" if recorded else "duplicate"


def send_once(invoice_id: str, body: bytes, *, db: Database) -> bool:
    """E-mail the invoice unless it was already; concurrent deliveries wait on the row lock. At least once:
    a crash between the SMTP answer and the commit sends it again on the retry."""
    with db.transaction() as tx:
        invoice = invoices.get(tx, invoice_id, for_update=True)
        if invoice["emailed_at"] is not None:
            return False
        email_invoice(invoice, body)
        invoices.mark_emailed(tx, invoice_id)
    return True


def email_invoice(invoice: dict[str, Any], body: bytes) -> None:
    fr = invoice["locale"].startswith("fr")
    total = fmt.money(Money(invoice["total_minor"], invoice["currency"]), invoice["locale"])
    subject = f"{'Facture' if fr else 'Invoice'} {invoice['number']} — {total}"
    text = (
        f"Bonjour,\n\nVeuillez trouver ci-joint la facture {invoice['number']} d'un montant de {total}.\n"
        if fr else
        f"Hello,\n\nPlease find attached invoice {invoice['number']} for {total}.\n"
    )
    mail.send(invoice["buyer"]["email"], subject, text, (f"{invoice['number']}.pdf", body, "application/pdf"))
