"""The daily run: overdue invoices, then yearly subscriptions that expire or are about to."""
from __future__ import annotations

from datetime import date
from typing import Any

from billing.ports.db import Database
from billing.services.invoices.overdue import mark_overdue
from billing.services.subscriptions.expire import expire_subscriptions


def run_daily(today: date, *, db: Database | None = None) -> dict[str, Any]:
    overdue = mark_overdue(today, db=db)
    subscriptions = expire_subscriptions(today, db=db)
    return {"date": today.isoformat(), "overdue": overdue, **subscriptions}
