"""A person's rights over their data: consents recorded, everything exported, erasure of what the law lets go."""
from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from billing.config import settings
from billing.domain.caller import Caller
from billing.domain.errors import CustomerNotFound
from billing.ports.db import Database, credit_notes, database, gdpr, invoices, payments
from billing.ports.storage import Storage, storage
from billing.services import audit
from billing.services.invoices.changes import invoices_changed


def _own(caller: Caller, user_id: str) -> None:
    """Owner or admin; for anyone else the person does not exist."""
    if not caller.may_see(user_id):
        raise CustomerNotFound()


def record_consent(caller: Caller, user_id: str, purpose: str, granted: bool, source: str, *,
                   db: Database | None = None) -> dict[str, Any]:
    _own(caller, user_id)
    with (db or database()).transaction() as tx:
        if gdpr.held(tx, user_id)["user"] is None:
            raise CustomerNotFound()
        consent = gdpr.record_consent(tx, user_id, purpose, granted, source)
        audit.record(tx, "consent.recorded", "customer", user_id, purpose=purpose, granted=granted, source=source)
        return consent


def export_user(caller: Caller, user_id: str, *, db: Database | None = None,
                store: Storage | None = None) -> dict[str, Any]:
    """Everything held about the person, with 15-minute links to their documents."""
    _own(caller, user_id)
    store = store or storage()
    with (db or database()).transaction() as tx:
        data = gdpr.held(tx, user_id)
        if data["user"] is None:
            raise CustomerNotFound()
        documents = []
        for invoice_id in gdpr.invoice_ids(tx, user_id):
            invoice = invoices.get(tx, invoice_id)
            invoice["items"] = invoices.items(tx, invoice_id)
            invoice["payments"] = payments.for_invoice(tx, invoice_id)
            invoice["credit_note"] = credit_notes.for_invoice(tx, invoice_id)
            documents.append(invoice)
        audit.record(tx, "user.exported", "customer", user_id, invoices=len(documents))
    seconds = settings().presign_seconds
    for invoice in documents:
        invoice["pdf_url"] = invoice["pdf_key"] and store.presigned_url(invoice["pdf_key"], seconds)
        note = invoice["credit_note"]
        if note:
            note["pdf_url"] = store.presigned_url(note["pdf_key"], seconds)
    return {**data, "invoices": documents}


def erase_user(caller: Caller, user_id: str, *, db: Database | None = None) -> dict[str, Any]:
    """Pseudonymises the profile and removes usage, drafts, alerts, unused credits and API keys. Issued
    invoices, their PDFs, payments and credit notes stay for RETENTION_YEARS (the purge removes them after)."""
    _own(caller, user_id)
    pseudonym = "erased-" + hashlib.sha256(user_id.encode()).hexdigest()[:12]
    with (db or database()).transaction() as tx:
        if gdpr.held(tx, user_id)["user"] is None:
            raise CustomerNotFound()
        removed = gdpr.erase(tx, user_id, pseudonym)
        kept = len([i for i in gdpr.invoice_ids(tx, user_id)])
        audit.record(tx, "user.erased", "customer", user_id, removed=removed, invoices_kept=kept)
    invoices_changed(user_id)
    return {"userId": user_id, "pseudonym": pseudonym, "removed": removed, "invoicesKept": kept,
            "retentionYears": settings().retention_years}


def purge_past_retention(today: date, *, batch: int = 500, db: Database | None = None,
                         store: Storage | None = None) -> list[str]:
    """Invoices issued more than RETENTION_YEARS ago: their PDF is deleted and the buyer removed from the row."""
    db, store = db or database(), store or storage()
    cutoff = today.replace(year=today.year - settings().retention_years)
    with db.transaction() as tx:
        due = gdpr.past_retention(tx, cutoff, batch)
    for row in due:
        if row["pdf_key"]:
            store.delete(row["pdf_key"])  # idempotent: deleting a missing key succeeds
        with db.transaction() as tx:
            gdpr.mark_purged(tx, row["id"])
            audit.record(tx, "invoice.purged", "invoice", row["id"])
        invoices_changed(row["user_id"])
    return [row["id"] for row in due]
