"""The monthly run on moto's SQS: scheduler -> queue -> worker, with duplicates, a poisoned message, reruns."""
from __future__ import annotations

import json
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
