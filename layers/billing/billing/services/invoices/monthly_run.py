"""The monthly run: list the period's billable customers, one queue message each; a worker issues each invoice.

Rerunning a month or receiving a message twice creates no second invoice: the unique period index answers
InvoiceExists, which the worker treats as done.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from aws_lambda_powertools import Logger

from billing.config import settings
from billing.domain.errors import InvoiceExists, NoActiveSubscription
from billing.domain.period import Period
from billing.ports import queue
from billing.ports.db import Database, database, runs

from .generate import generate_invoice

logger = Logger(child=True)


@dataclass(frozen=True)
class InvoiceJob:
    user_id: str
    period: Period

    def as_message(self) -> dict[str, Any]:
        return {"userId": self.user_id, "period": {"type": self.period.type, "startDate": self.period.start.isoformat(),
                                                    "endDate": self.period.end.isoformat()}}


def enqueue_month(period: Period, *, queue_url: str | None = None, db: Database | None = None) -> int:
    """One message per billable customer; returns how many were queued."""
    with (db or database()).transaction() as tx:
        customers = runs.billable_customers(tx, period.start, period.end)
    url = queue_url or settings().invoice_jobs_queue_url
    if not url:
        raise RuntimeError("INVOICE_JOBS_QUEUE_URL is not set")
    sent = queue.send_all(url, [InvoiceJob(user, period).as_message() for user in customers])
    logger.info("monthly run queued", extra={"period": period.start.isoformat(), "customers": sent})
    return sent


def run_job(job: InvoiceJob, *, today: date | None = None, db: Database | None = None) -> str:
    """Issue one customer's invoice; returns issued | exists | skipped. Anything else raises (and is retried)."""
    try:
        generate_invoice(job.user_id, job.period, send_requested=True, today=today, db=db)
        return "issued"
    except InvoiceExists:
        return "exists"
    except NoActiveSubscription:
        logger.info("nothing to bill", extra={"user_id": job.user_id})
        return "skipped"
