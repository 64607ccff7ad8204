"""`billing invoice-run --period YYYY-MM`: the monthly run on the local stack, scheduler -> queue -> worker,
with a progress bar read from the queues (any worker may consume them: the stack's event source does)."""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from billing.config import settings
from billing.domain.period import Period

from .lambda_runtime import invoke
from .s3 import client
from .schedules import schedule_event, scheduled_functions


def _depth(sqs, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def bar(done: int, failed: int, total: int, width: int = 30) -> str:
    filled = int(width * (done + failed) / total) if total else width
    return f"[{'#' * filled}{'.' * (width - filled)}] {done + failed}/{total} customers, {failed} failed"


def invoice_run(root: Path, period: Period, *, dlq_url: str, timeout: float = 600,
                out: Callable[[str], Any] = sys.stdout.write) -> dict[str, int]:
    cfg = settings()
    sqs = client(cfg, "sqs")
    failed_before = _depth(sqs, dlq_url)
    scheduler = next(f for f in scheduled_functions(root) if f.logical_id == "MonthlySchedulerFunction")
    # The schedule fires on the 1st after the period; the scheduler bills the month before its event's date.
    after = period.end.toordinal() + 1
    fired = datetime.fromordinal(after).replace(hour=2, tzinfo=timezone.utc)
    total = invoke(scheduler, schedule_event(scheduler, fired))["queued"]
    deadline = time.monotonic() + timeout
    while True:
        remaining = _depth(sqs, cfg.invoice_jobs_queue_url)
        failed = _depth(sqs, dlq_url) - failed_before
        done = max(0, total - remaining - failed)
        out("\r" + bar(done, failed, total))
        if remaining == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    out("\n")
    summary = {"customers": total, "done": done, "failed": failed, "unfinished": remaining}
    out(f"Invoice run {period.start:%Y-%m}: {done} done, {failed} failed (in the dead-letter queue)"
        + (f", {remaining} still queued" if remaining else "") + "\n")
    return summary
