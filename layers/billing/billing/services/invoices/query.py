"""Read invoices: one (with items), a page of them, and a short-lived download link for the PDF."""
from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

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
                  render: Callable[[list[dict[str, Any]]], str], shape: str,
                  db: Database | None = None) -> tuple[str, str | None]:
    """A page, newest first, as `render` serialises its invoice rows, and the next page's cursor. `shape` names
    what `render` writes (a fingerprint of its schema): pages rendered in another shape are never served.

    The rendered page is what is cached, not the rows: a cached page is not decoded and re-modelled on every
    read. The rows' buyers stay sealed: a page shows no buyer (decrypting them was work thrown away), so the
    cache holds no personal data."""
    owner = caller.scope_user(user_id)
    after = decode_cursor(cursor) if cursor else None

    def page() -> str:
        with (db or database()).transaction() as tx:
            rows = invoice_search.page(tx, user_id=owner, status=status, limit=limit + 1, after=after)
        more = len(rows) > limit
        shown = rows[:limit]
        # One line of what the audit and the next page need, then the page as rendered.
        return f"{json.dumps([len(rows), encode_cursor(shown[-1]) if more and shown else None])}\n{render(shown)}"

    # A page is cached with the versions of its scope: any write to the customer's invoices bumps them.
    ttl = settings().list_cache_seconds
    key = f"invoices:page:{shape}:{owner}:{status}:{limit}:{cursor}"
    entry = cache.through_versioned((ALL, owner or ALL), key, ttl, page) if ttl > 0 else page()
    head, _, rendered = entry.partition("\n")
    count, next_cursor = json.loads(head)
    # Every read is audited, cached or not.
    audit.record_read("invoice.list", "customer", owner or "*", db=db, status=status, cursor=cursor, count=count)
    return rendered, next_cursor


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
