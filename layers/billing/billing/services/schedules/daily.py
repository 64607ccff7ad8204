"""The daily run: overdue invoices, yearly subscriptions that expire, PDF archival, PDFs never stored, purge past
retention, key rotation (every 30 days)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from billing.ports.db import Database
from billing.services.gdpr.rights import purge_past_retention
from billing.services.invoices.archive import archive_documents
from billing.services.invoices.document import restore_unrecorded
from billing.services.invoices.overdue import mark_overdue
from billing.services.security.rotate import rotate_keys
from billing.services.subscriptions.expire import expire_subscriptions


def run_daily(today: date, *, db: Database | None = None) -> dict[str, Any]:
    overdue = mark_overdue(today, db=db)
    subscriptions = expire_subscriptions(today, db=db)
    archived = archive_documents(today, db=db)
    # PDFs whose store failed at issue; an hour's margin leaves the S3 events of fresh ones time to land.
    restored = restore_unrecorded(datetime.now(timezone.utc) - timedelta(hours=1), db=db)
    purged = purge_past_retention(today, db=db)
    keys = rotate_keys(datetime.combine(today, datetime.min.time(), timezone.utc), db=db)
    return {"date": today.isoformat(), "overdue": overdue, **subscriptions, "archived": archived,
            "restored": restored, "purged": purged, "keys": keys}
