"""The invoice PDF: render it from the frozen invoice, store it, and record it when S3 says it landed."""
from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from billing import einvoice
from billing.config import settings
from billing.domain import format as fmt
from billing.domain.ids import is_uuid
from billing.domain.money import Money
from billing.ports import pdf
from billing.ports.db import Database, credit_notes, database, invoices
from billing.ports.storage import Storage, storage
from billing.services import audit

from .email import email_invoice
from .changes import invoices_changed

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
        "to": "au", "credits": "Avoirs et crédits déduits", "draft": "BROUILLON", "draft_title": "Brouillon de facture",
        "credit_note": "Avoir", "credit_note_number": "N° d'avoir", "original_invoice": "Facture d'origine",
        "cancellation": "Annulation de la facture {number}", "credit_total": "Total de l'avoir TTC",
        "vat_exempt": "TVA non applicable",
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
        "to": "to", "credits": "Credits applied", "draft": "DRAFT", "draft_title": "Draft invoice",
        "credit_note": "Credit note", "credit_note_number": "Credit note number", "original_invoice": "Original invoice",
        "cancellation": "Cancellation of invoice {number}", "credit_total": "Credit note total",
        "vat_exempt": "No VAT",
    },
}


def document_key(user_id: str, invoice_id: str, number: str, at: datetime) -> str:
    stamp = at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"invoices/{user_id}/{invoice_id}_{number}_{stamp}.pdf"


def render_context(invoice: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """What the template prints for an invoice (a DRAFT prints as a watermarked preview)."""
    locale, currency = invoice["locale"], invoice["currency"]
    labels = LABELS["fr" if locale.startswith("fr") else "en"]

    def m(minor: int) -> str:
        return fmt.money(Money(minor, currency), locale)

    draft = invoice["status"] == "DRAFT"
    issue_date = invoice["issue_date"] or date.today()
    credits = invoice.get("credits_applied_minor") or 0
    return {
        "l": labels,
        "title": labels["draft_title"] if draft else labels["title"],
        "number_label": labels["number"],
        "number": invoice["number"] or "—",
        "watermark": labels["draft"] if draft else None,
        "reference": None,
        "locale": locale,
        "seller": invoice["seller"],
        "buyer": invoice["buyer"],
        "issue_date": fmt.day(issue_date, locale),
        "due_date": fmt.day(invoice["due_date"], locale) if invoice["due_date"] else "—",
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
        "vat_label": f"{labels['vat']} {_percent(invoice['tax_rate'])}" if invoice["tax_minor"] or
                     invoice.get("tax_category", "S") == "S" else labels["vat_exempt"],
        "tax": m(invoice["tax_minor"]),
        "total_label": labels["total"],
        "total": m(invoice["total_minor"]),
        "credits": m(-credits) if credits else None,
        "amount_due": m(invoice["total_minor"] - credits),
        "tax_mention": invoice.get("tax_mention"),
        "payment": True,
        "logo": logo_data_uri(settings().seller.logo_path),
    }


def credit_note_context(invoice: dict[str, Any], note: dict[str, Any]) -> dict[str, Any]:
    """A credit note prints like its invoice, with one line that cancels what remained due on it."""
    context = render_context({**invoice, "status": "CANCELLED", "credits_applied_minor": 0}, [])
    labels, locale = context["l"], invoice["locale"]

    def m(minor: int) -> str:
        return fmt.money(Money(minor, note["currency"]), locale)

    context.update(
        title=labels["credit_note"], number_label=labels["credit_note_number"], number=note["number"],
        reference=(labels["original_invoice"], invoice["number"]), issue_date=fmt.day(note["issue_date"], locale),
        due_date="—",
        lines=[{"description": labels["cancellation"].format(number=invoice["number"]), "quantity": "1",
                "unit_price": m(note["subtotal_minor"]), "amount": m(note["subtotal_minor"])}],
        subtotal=m(note["subtotal_minor"]), tax=m(note["tax_minor"]), total_label=labels["credit_total"],
        total=m(note["total_minor"]), credits=None, amount_due=None, payment=False,
    )
    return context


@lru_cache(maxsize=4)
def logo_data_uri(path: str | None) -> str | None:
    """The seller's logo inlined, so rendering never fetches anything."""
    if not path:
        return None
    mime = "image/svg+xml" if path.lower().endswith(".svg") else "image/png"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def _percent(rate: Any) -> str:
    return f"{(Decimal(rate) * 100).normalize():f} %"


def render_pdf(invoice: dict[str, Any], items: list[dict[str, Any]]) -> bytes:
    """An issued invoice renders as an e-invoice (Factur-X unless EINVOICE_PROFILE=none); a DRAFT preview never."""
    context = render_context(invoice, items)
    html = pdf.render_html("invoice.html", context)
    return einvoice.invoice_pdf(html, invoice, items, context["l"]) if invoice["number"] else pdf.html_to_pdf(html)


def store_document(invoice: dict[str, Any], *, store: Storage | None = None) -> str:
    """Render the issued invoice (with its items) and put it at the key chosen when it was issued. Safe to repeat."""
    body = render_pdf(invoice, invoice["items"])
    return _put_pdf(store or storage(), invoice["pdf_key"], body, kind="invoice", document_id=invoice["id"],
                    invoice=invoice, number=invoice["number"], status=invoice["status"],
                    total_minor=invoice["total_minor"])


def store_credit_note(invoice: dict[str, Any], note: dict[str, Any], *, store: Storage | None = None) -> str:
    context = credit_note_context(invoice, note)
    body = einvoice.credit_note_pdf(pdf.render_html("invoice.html", context), invoice, note, context["l"])
    return _put_pdf(store or storage(), note["pdf_key"], body, kind="credit-note", document_id=note["id"],
                    invoice=invoice, number=note["number"], status="ISSUED", total_minor=note["total_minor"])


def _put_pdf(store: Storage, key: str, body: bytes, *, kind: str, document_id: str, invoice: dict[str, Any],
             number: str, status: str, total_minor: int) -> str:
    digest = hashlib.sha256(body).hexdigest()
    store.put(
        key, body,
        metadata={
            "document-type": kind, "document-id": document_id, "invoice-id": invoice["id"],
            "invoice-number": invoice["number"], "document-number": number, "user-id": invoice["user_id"],
            "generated-at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "file-size": str(len(body)),
            "status": status, "total": str(total_minor), "currency": invoice["currency"], "sha256": digest,
        },
        tags={"type": kind.replace("-", "_"), "userId": invoice["user_id"], "invoiceId": invoice["id"],
              "status": status},
    )
    logger.info("document stored", extra={"kind": kind, "document_id": document_id, "key": key, "size": len(body)})
    return key


def record_stored_document(key: str, *, db: Database | None = None, store: Storage | None = None) -> str:
    """Handle one ObjectCreated: verify the object, record it once, then e-mail it once if asked.

    Returns what happened: recorded | duplicate | unknown | corrupt. Recording commits before any mail is
    attempted, so an SMTP outage never loses the record; a failed mail raises and the event is retried.
    """
    db = db or database()
    obj = (store or storage()).get(key)
    meta = obj.metadata
    digest = hashlib.sha256(obj.body).hexdigest()
    invoice_id = meta.get("invoice-id", "")
    if meta.get("sha256") != digest or meta.get("file-size") != str(obj.size):
        # `alert` is what the log metric filter behind the CloudWatch alarm matches.
        logger.error("stored document does not match its metadata",
                     extra={"alert": "document_corrupt", "key": key, "size": obj.size})
        if is_uuid(invoice_id):
            with db.transaction() as tx:
                invoices.mark_corrupt(tx, invoice_id, key)
                owner = tx.value("SELECT user_id::text FROM invoices WHERE id = CAST(:id AS uuid)", id=invoice_id)
            if owner:
                invoices_changed(owner)
        return "corrupt"
    if meta.get("document-type") == "credit-note":
        return _record_credit_note(meta.get("document-id", ""), key, obj, digest, db)
    with db.transaction() as tx:
        invoice = invoices.get(tx, invoice_id) if is_uuid(invoice_id) else None
        if invoice is None or invoice["pdf_key"] != key:
            logger.warning("document for no known invoice", extra={"key": key})
            return "unknown"
        recorded = invoices.record_document(tx, invoice_id, key, obj.size, digest, obj.etag)
        if recorded:
            audit.record(tx, "invoice.document_recorded", "invoice", invoice_id, key=key, sha256=digest)
    invoices_changed(invoice["user_id"])
    if invoice["send_requested"]:
        send_once(invoice_id, obj.body, db=db)
    return "recorded" if recorded else "duplicate"


def _record_credit_note(note_id: str, key: str, obj, digest: str, db: Database) -> str:
    with db.transaction() as tx:
        note = credit_notes.get(tx, note_id) if is_uuid(note_id) else None
        if note is None or note["pdf_key"] != key:
            logger.warning("document for no known credit note", extra={"key": key})
            return "unknown"
        recorded = credit_notes.record_document(tx, note_id, key, obj.size, digest, obj.etag)
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
        audit.record(tx, "invoice.emailed", "invoice", invoice_id, via="issue")
    invoices_changed(invoice["user_id"])
    return True


def restore_unrecorded(older_than: datetime, *, limit: int = 200, db: Database | None = None,
                       store: Storage | None = None) -> list[str]:
    """Issued invoices whose PDF never landed (the store failed at issue): render and store them again.
    Their ObjectCreated event then records them as usual. Returns the ids stored again."""
    db, store = db or database(), store or storage()
    with db.transaction() as tx:
        candidates = invoices.unrecorded(tx, older_than, limit)
    restored = []
    for invoice_id in candidates:
        with db.transaction() as tx:
            invoice = invoices.get(tx, invoice_id)
            invoice["items"] = invoices.items(tx, invoice_id)
        if not store.exists(invoice["pdf_key"]):
            store_document(invoice, store=store)
            restored.append(invoice_id)
    return restored
