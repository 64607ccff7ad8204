"""Archive old PDFs: copy to archive/ (GLACIER_IR on S3), drop the original, record the new key.

Each step can be repeated, so a run cut short is finished by the next one: the copy is redone while the original
exists, a missing original with its copy present means only the record is left to write.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from billing.config import settings
from billing.ports.db import Database, database, invoices
from billing.ports.storage import Storage, storage
from billing.services import audit
from .changes import invoices_changed

logger = Logger(child=True)


def archive_documents(today: date, *, batch: int = 500, db: Database | None = None,
                      store: Storage | None = None) -> list[str]:
    """Archives the PDFs of invoices issued more than ARCHIVE_AFTER_DAYS before `today`; returns their ids."""
    cfg, db, store = settings(), db or database(), store or storage()
    storage_class = "STANDARD" if cfg.storage_provider == "minio" else "GLACIER_IR"  # MinIO has no Glacier class
    with db.transaction() as tx:
        due = invoices.to_archive(tx, today - timedelta(days=cfg.archive_after_days), batch)
    done = []
    for invoice in due:
        if _archive_one(invoice, storage_class, db, store):
            done.append(invoice["id"])
    return done


def _archive_one(invoice: dict[str, Any], storage_class: str, db: Database, store: Storage) -> bool:
    source, target = invoice["pdf_key"], "archive/" + invoice["pdf_key"]
    if store.exists(source):
        store.copy(source, target, storage_class=storage_class, tags={
            "type": "invoice", "userId": invoice["user_id"], "invoiceId": invoice["id"], "status": invoice["status"],
            "archived": "true"})
        store.delete(source)
    elif not store.exists(target):
        logger.error("invoice PDF missing from both places", extra={"invoice_id": invoice["id"], "key": source})
        return False
    with db.transaction() as tx:
        archived = invoices.mark_archived(tx, invoice["id"], source, target)
        if archived:
            audit.record(tx, "invoice.archived", "invoice", invoice["id"], key=target)
    invoices_changed(invoice["user_id"])
    return archived
