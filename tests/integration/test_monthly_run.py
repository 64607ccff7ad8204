"""The monthly run on moto's SQS: scheduler -> queue -> worker, with duplicates, a poisoned message, reruns."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from billing.devstack.dispatcher import SqsEventSource
from billing.devstack.lambda_runtime import LambdaContext, handler_of
from billing.devstack.s3 import client
from billing.devstack.schedules import run_schedules
from billing.devstack.template import event_functions, load_template
from billing.config import settings
from billing.ports.db import database
from tests.support import ROOT, load_event

TEMPLATE = load_template(ROOT / "template.yaml")
WORKER = next(f for f in event_functions(TEMPLATE, ROOT, "SQS") if f.logical_id == "InvoiceWorkerFunction")


def job_event(messages: list[dict]) -> dict:
    """SQS batch events shaped like events/sqs_invoice_job.json."""
    template = load_event("sqs_invoice_job")["Records"][0]
    return {"Records": [{**template, "messageId": f"m-{i}", "body": json.dumps(body)} for i, body in enumerate(messages)]}


def october(user: str) -> dict:
    return {"userId": user, "period": {"type": "monthly", "startDate": "2026-10-01", "endDate": "2026-10-31"}}


def invoices_of(users: list[str]) -> dict[str, int]:
    with database().transaction() as tx:
        rows = tx.all("SELECT user_id::text AS u, count(*) AS n FROM invoices WHERE user_id = ANY(CAST(:u AS uuid[]))"
                      " AND period_start = '2026-10-01' GROUP BY 1", u=users)
    return {r["u"]: r["n"] for r in rows}


def test_a_message_delivered_twice_issues_one_invoice(make_customer):
    user = make_customer(100)
    result = handler_of(WORKER)(job_event([october(user), october(user)]), LambdaContext(WORKER))
    assert result == {"batchItemFailures": []}
    assert invoices_of([user]) == {user: 1}


def test_one_poisoned_message_among_ten_fails_alone(make_customer):
    users = [make_customer(100) for _ in range(9)]
    messages = [october(u) for u in users[:4]] + [{"userId": "not-a-uuid", "period": {}}] + [october(u) for u in users[4:]]
    result = handler_of(WORKER)(job_event(messages), LambdaContext(WORKER))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-4"}]}
    assert invoices_of(users) == {u: 1 for u in users}


def test_the_scheduler_queues_every_billable_customer_and_a_rerun_creates_nothing_new(make_customer, infra):
    users = [make_customer(100) for _ in range(3)]
    sqs = client(settings(), "sqs")
    queue = infra.queues["InvoiceJobsQueue"]
    sqs.purge_queue(QueueUrl=queue["url"])
    source = SqsEventSource(sqs, queue["url"], queue["arn"], WORKER, wait_seconds=0)
    fired = datetime(2026, 11, 1, 2, tzinfo=timezone.utc)
    for _ in range(2):  # the month, then a rerun of it
        queued = run_schedules(ROOT, fired, ["MonthlySchedulerFunction"])["MonthlySchedulerFunction"]["queued"]
        assert queued >= 3
        while source.drain_once():
            pass
    assert invoices_of(users) == {u: 1 for u in users}


def test_worker_processes_share_the_queue_and_leave_a_poisoned_message_to_redrive(make_customer, infra, tmp_path):
    """`billing stack --workers 2`: two interpreters poll the jobs queue; each good job is issued once, and the
    failing one is not deleted (it comes back after the visibility timeout, then goes to the DLQ)."""
    from billing.devstack.template import sqs_sources
    from billing.devstack.workers import WorkerProcesses, spec
    from billing.ports import queue as jobs

    users = [make_customer(100) for _ in range(6)]
    sqs = client(settings(), "sqs")
    q = infra.queues["InvoiceJobsQueue"]
    assert sqs.get_queue_attributes(QueueUrl=q["url"], AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"
    sources = [(f, q["url"], q["arn"], batch) for f, name, batch in sqs_sources(TEMPLATE, ROOT) if name == "InvoiceJobsQueue"]
    jobs.send_all(q["url"], [october(u) for u in users] + [{"userId": "not-a-uuid", "period": {}}])
    pool = WorkerProcesses(spec(ROOT, None, sources, "eu-west-3"), 2, tmp_path).start()
    try:
        assert len(set(pool.pids)) == 2
        deadline = time.monotonic() + 90
        while invoices_of(users) != {u: 1 for u in users} and time.monotonic() < deadline:
            time.sleep(0.3)
        assert invoices_of(users) == {u: 1 for u in users}
        while time.monotonic() < deadline:
            attributes = sqs.get_queue_attributes(QueueUrl=q["url"], AttributeNames=["All"])["Attributes"]
            if attributes["ApproximateNumberOfMessages"] == "0" and attributes["ApproximateNumberOfMessagesNotVisible"] == "1":
                break
            time.sleep(0.3)
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"  # the poisoned one, in flight again
    finally:
        pool.stop()
    assert all(p.returncode == 0 for p in pool.processes)  # stopped cleanly on SIGTERM
    for _ in range(4):  # take the poisoned message off once it is visible again: later tests find the queue empty
        for message in sqs.receive_message(QueueUrl=q["url"], WaitTimeSeconds=5).get("Messages", []):
            sqs.delete_message(QueueUrl=q["url"], ReceiptHandle=message["ReceiptHandle"])
            return
