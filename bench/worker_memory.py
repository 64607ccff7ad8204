"""Figure 7: the peak memory of one invoice worker issuing 1,000 invoices; the baseline is its memory after the
first 50. No growth beyond 10 %.

A fresh interpreter loads functions/invoice_worker/app.py as the Lambda runtime does and invokes its handler
with SQS batch events of 10 jobs (the template's BatchSize) against PostgreSQL and moto's S3 server (started
here): the worker's own code path, generate -> issue -> render -> upload. It samples /proc/self/status after
every batch: VmRSS after the first 50 invoices is the baseline, VmHWM (the kernel's high-water mark of RSS)
at the end is the figure.
"""
from __future__ import annotations

import json
import os
import random
import sys
from datetime import date
from typing import Any

from .measure import amount, log, run_python

INVOICES, FIRST = 1000, 50
SMOKE_INVOICES, SMOKE_FIRST = 20, 5
BATCH = 10
TARGET = 1.10


def status_mb() -> dict[str, float]:
    """VmRSS and VmHWM of this process, in MB."""
    found = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024
    return found


def child(invoices: int, first: int, period_start: str, period_end: str, users: list[str]) -> dict[str, Any]:
    """In the fresh interpreter: the worker's handler over every job, sampling memory after each batch."""
    from billing.devstack.lambda_runtime import LambdaContext, handler_of
    from billing.devstack.template import event_functions, load_template

    from .measure import ROOT

    worker = next(f for f in event_functions(load_template(ROOT / "template.yaml"), ROOT, "SQS")
                  if f.logical_id == "InvoiceWorkerFunction")
    handler = handler_of(worker)
    samples, baseline, failures = [], None, 0
    for start in range(0, invoices, BATCH):
        records = [{
            "messageId": f"m-{i}", "receiptHandle": f"r-{i}", "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:eu-west-3:000000000000:InvoiceJobsQueue", "awsRegion": "eu-west-3",
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
            "body": json.dumps({"userId": users[i], "period": {"type": "monthly", "startDate": period_start,
                                                               "endDate": period_end}}),
        } for i in range(start, min(start + BATCH, invoices))]
        result = handler({"Records": records}, LambdaContext(worker))
        failures += len(result.get("batchItemFailures", []))
        sample = status_mb()
        samples.append(round(sample["VmRSS"], 1))
        if baseline is None and start + BATCH >= first:
            baseline = sample
    end = status_mb()
    return {"rss_after_first": round(baseline["VmRSS"], 1), "hwm_after_first": round(baseline["VmHWM"], 1),
            "rss_end": round(end["VmRSS"], 1), "peak": round(end["VmHWM"], 1), "failures": failures,
            "rss_samples": samples}


def run(smoke: bool) -> dict[str, Any]:
    from billing.config import settings
    from billing.devstack.s3 import provision, start_moto
    from billing.devstack.services import free_port
    from billing.domain.period import Period

    from .monthly_run import seed
    from .stack import database

    invoices, first = (SMOKE_INVOICES, SMOKE_FIRST) if smoke else (INVOICES, FIRST)
    period = Period.previous_month(date.today())
    with database("worker_memory"):
        port = free_port()
        moto = start_moto(port)
        try:
            os.environ.update(S3_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="test",
                              AWS_SECRET_ACCESS_KEY="test", STORAGE_PROVIDER="s3")
            settings.cache_clear()
            provision(settings())
            users = seed(invoices, period, random.Random(7))
            args = json.dumps([invoices, first, period.start.isoformat(), period.end.isoformat(), users])
            timed = run_python(["-m", "bench.worker_memory", args])
        finally:
            moto.stop()
    if timed.proc.returncode != 0:
        raise RuntimeError(timed.proc.stderr.decode(errors="replace")[-2000:])
    found = json.loads(timed.proc.stdout.decode().strip().splitlines()[-1])
    if found["failures"]:
        raise RuntimeError(f"{found['failures']} of {invoices} jobs failed")
    log(f"  worker_memory: {invoices} invoices in {timed.elapsed:.0f} s; RSS after {first} {found['rss_after_first']} MB,"
        f" peak {found['peak']} MB, RSS at the end {found['rss_end']} MB")
    samples = found.pop("rss_samples")
    return amount("worker_memory", "MB", [found["peak"]], f"RSS after the first {first} invoices",
                  [found["rss_after_first"]], TARGET, invoices=invoices, seconds_issuing=round(timed.elapsed, 1),
                  **{k: v for k, v in found.items() if k != "failures"},
                  rss_every_100=samples[::max(1, 100 // BATCH)])


if __name__ == "__main__":
    print(json.dumps(child(*json.loads(sys.argv[1]))))
