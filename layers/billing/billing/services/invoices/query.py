"""Read invoices: one (with items), a page of them, and a short-lived download link for the PDF."""
from __future__ import annotations

import base64
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from billing.config import settings
from billing.domain.caller import Caller
from billing.domain.errors import DependencyUnavailable, DocumentNotReady, InvalidRequest, InvoiceNotFound
from billing.domain.ids import is_uuid
from billing.ports import cache
from billing.ports.db import Database, alerts, credit_notes, database, invoice_search, invoices, payments
from billing.ports.db import audit as audit_rows
from billing.services import audit

from .changes import ALL

if TYPE_CHECKING:
    from billing.ports.storage import Storage

logger = Logger(child=True)
# What the status history shows, from the audit trail: what changed the invoice, not who read it.
HISTORY_ACTIONS = ("invoice.created", "invoice.issued", "invoice.status", "invoice.emailed", "payment.recorded",
                   "invoice.archived", "invoice.updated")
URL_MARGIN = 60

def get_invoice(caller: Caller, invoice_id: str, *, db: Database | None = None) -> dict[str, Any]:
    with (db or database()).transaction() as tx:
        invoice = invoices.get(tx, invoice_id)
        if invoice is None or not caller.may_see(invoice["user_id"]):
            raise InvoiceNotFound()  # another customer's invoice does not exist for this caller
        invoice["items"] = invoices.items(tx, invoice_id)
        invoice["credit_note"] = credit_notes.for_invoice(tx, invoice_id)
        invoice["payments"] = payments.for_invoice(tx, invoice_id)
        invoice["alerts"] = alerts.for_invoice(tx, invoice_id)
        invoice["history"] = audit_rows.history(tx, invoice_id, HISTORY_ACTIONS)
    audit.record_read("invoice.read", "invoice", invoice_id, db=db)
    return invoice


def list_invoices(caller: Caller, *, user_id: str | None, status: str | None, limit: int, cursor: str | None,
                  db: Database | None = None) -> tuple[list[dict[str, Any]], str | None]:
    owner = caller.scope_user(user_id)
    after = decode_cursor(cursor) if cursor else None

    def page() -> list[dict[str, Any]]:
        with (db or database()).transaction() as tx:
            return invoice_search.page(tx, user_id=owner, status=status, limit=limit + 1, after=after)

    # A page is cached with the versions of its scope: any write to the customer's invoices bumps them.
    # Cached with the buyer still sealed: no personal data in Redis.
    ttl = settings().list_cache_seconds
    key = f"invoices:page:{owner}:{status}:{limit}:{cursor}"
    rows = cache.through_versioned((ALL, owner or ALL), key, ttl, page) if ttl > 0 else page()
    with (db or database()).transaction(lazy=True) as tx:  # no round trip while the data keys are cached
        for row in rows:
            invoices.open_buyer(tx, row)
    # Every read is audited, cached or not.
    audit.record_read("invoice.list", "customer", owner or "*", db=db, status=status, cursor=cursor, count=len(rows))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None



def pdf_download(caller: Caller, invoice_id: str, *, expires_in: int | None = None, db: Database | None = None,
                 store: Storage | None = None) -> tuple[str, str | bytes]:
    """("redirect", presigned URL) for an issued invoice; ("preview", PDF) for a DRAFT; ("inline", PDF) when
    the document store is down (rendered again from the frozen invoice, so the customer still gets it)."""
    # Here, not at module top: get_invoice and list_invoices never render nor reach S3, and their functions'
    # cold start would otherwise load boto3 and the renderer's modules.
    from billing.ports.storage import storage

    from .document import render_pdf, store_document

    invoice = get_invoice(caller, invoice_id, db=db)
    if invoice["status"] == "DRAFT":
        return "preview", render_pdf(invoice, invoice["items"])  # marked DRAFT / BROUILLON, stored nowhere
    if not invoice["pdf_key"]:
        raise DocumentNotReady("This invoice has no PDF")
    store = store or storage()
    seconds = expires_in or settings().presign_seconds

    def presign() -> str:
        url = store.presigned_url(invoice["pdf_key"], seconds, filename=f"{invoice['number']}.pdf")  # checks bounds
        if not store.exists(invoice["pdf_key"]):
            store_document(invoice, store=store)  # its upload failed when it was issued
        return url

    audit.record_read("invoice.pdf_url", "invoice", invoice_id, db=db, expires_in=seconds)
    try:
        # A link is reused until a minute before it expires; a new key (archival) is a new cache entry.
        key = f"pdf:url:{invoice_id}:{invoice['pdf_key']}:{seconds}" if seconds > URL_MARGIN else None
        return "redirect", cache.through(key, seconds - URL_MARGIN, presign)
    except DependencyUnavailable:
        logger.warning("document store down: rendering inline", extra={"invoice_id": invoice_id})
        return "inline", render_pdf(invoice, invoice["items"])


def encode_cursor(row: dict[str, Any]) -> str:
    raw = f"{row['created_at'].isoformat()}|{row['id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, invoice_id = raw.split("|", 1)
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None or not is_uuid(invoice_id):
            raise ValueError
        return parsed, invoice_id
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("The cursor is not one this API returned", code="invalid_cursor") from None
