"""Figure 2: the monthly run end to end on the local stack, scheduler -> SQS -> worker processes -> PostgreSQL
-> PDF -> S3 -> S3 event recorded, with 2 worker processes; the baseline is the same run with one.

Each repetition starts `billing stack --workers N` on a fresh database (moto's S3 and SQS are fresh too), seeds
the customers with one bulk statement per table (profiles encrypted as the service stores them, a subscription
each, a month of usage through the bulk ingestion SQL), fires the monthly schedule's event at the scheduler as
EventBridge would, and times from the event until every invoice is issued and its S3 ObjectCreated event
recorded (`document_recorded_at`). Repetitions alternate 1 and 2 workers.
"""
from __future__ import annotations

import os
import random
import time
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterator
from unittest.mock import patch

from .measure import clock, log, process_cpu, rate
from .stack import local_stack, reset_clients

CUSTOMERS, SMOKE_CUSTOMERS = 2000, 10
REPETITIONS, SMOKE_REPETITIONS = 1, 1  # pairs (1 worker, 2 workers): 2,000 invoices take minutes each
TARGET = 20.0  # invoices/s with 2 workers on 2 cores
PLANS = [("FREE", 1_500), ("BASIC", 25_000), ("PREMIUM", 140_000), ("ENTERPRISE", 2_600_000)]


@contextmanager
def _stack_env(info: dict[str, Any]) -> Iterator[None]:
    """This process talks to the stack as its functions do (its database, queues, S3), until the end."""
    with patch.dict(os.environ, info["env"], POWERTOOLS_LOG_LEVEL="WARNING"):  # stdout: the JSON document only
        reset_clients()  # the previous repetition's pool, SQS client and data keys
        try:
            yield
        finally:
            reset_clients()


def seed(count: int, period, rng: random.Random) -> list[str]:
    """`count` customers billable for `period` with a month of usage; bulk statements, not API calls."""
    from billing.ports import crypto
    from billing.ports.db import database, usage
    from billing.ports.db.customers import ENCRYPTED, PROFILE_COLUMNS

    users = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)]
    plans = [PLANS[i % len(PLANS)] for i in range(count)]
    with database().transaction() as tx:
        version = crypto.current_version(tx)
        columns: dict[str, list[Any]] = {c: [] for c in PROFILE_COLUMNS}
        tokens = []
        for i, user in enumerate(users):
            profile = {"name": f"Client {i:05d} SAS", "email": f"compta+{i}@client{i}.example",
                       "address_line1": f"{i} rue de la Paix", "address_line2": None, "postal_code": "75002",
                       "city": "Paris", "country": "FR", "phone": None, "vat_number": None,
                       "siren": None, "locale": "fr-FR" if i % 3 else "en-US", "currency": "EUR"}
            for c in PROFILE_COLUMNS:
                value = profile[c]
                columns[c].append(crypto.encrypt(tx, value, "user_profiles", c, user, version) if c in ENCRYPTED
                                  else value)
            tokens.append("{" + ",".join(f'"{t}"' for t in crypto.search_tokens(tx, profile["name"], profile["email"]))
                          + "}")
        tx.execute("INSERT INTO users (id) SELECT unnest(CAST(:u AS uuid[]))", u=users)
        tx.execute(
            f"INSERT INTO user_profiles (user_id, {', '.join(PROFILE_COLUMNS)}, search_tokens) "
            f"SELECT u, {', '.join(PROFILE_COLUMNS)}, CAST(t AS text[]) FROM unnest(CAST(:u AS uuid[]), "
            + ", ".join(f"CAST(:{c} AS text[])" for c in PROFILE_COLUMNS)
            + f", CAST(:t AS text[])) AS x(u, {', '.join(PROFILE_COLUMNS)}, t)",
            u=users, t=tokens, **columns)
        tx.execute(
            "INSERT INTO subscriptions (user_id, plan_code, interval, status, started_on) "
            "SELECT u, p, 'MONTH', 'ACTIVE', :s FROM unnest(CAST(:u AS uuid[]), CAST(:p AS text[])) AS x(u, p)",
            u=users, p=[p for p, _ in plans], s=period.start - timedelta(days=60))
    ids, owners, occurred, requests = [], [], [], []
    for user, (_plan, monthly) in zip(users, plans):
        for day in range(period.days):
            at = datetime.combine(period.start + timedelta(days=day), datetime.min.time(), timezone.utc)
            ids.append(f"bench-{user}-{day:02d}")
            owners.append(user)
            occurred.append(at + timedelta(hours=12))
            requests.append(monthly // period.days)
    for i in range(0, len(ids), 20_000):
        with database().transaction() as tx:
            usage.insert_events(tx, ids[i:i + 20_000], owners[i:i + 20_000], occurred[i:i + 20_000],
                                requests[i:i + 20_000])
    return users


def progress(period) -> tuple[int, int, int]:
    """(issued, recorded, marked corrupt) invoices of the period. Under load, moto's server has once answered a
    GET with a body or metadata that did not match (the handler logs `document_corrupt` and, when the
    metadata names no invoice, marks nothing): such an invoice counts as finished, and is reported."""
    from billing.ports.db import database

    with database().transaction() as tx:
        row = tx.one("SELECT count(*) FILTER (WHERE number IS NOT NULL) AS issued,"
                     " count(*) FILTER (WHERE document_recorded_at IS NOT NULL) AS recorded,"
                     " count(*) FILTER (WHERE document_recorded_at IS NULL AND pdf_corrupt_at IS NOT NULL) AS corrupt"
                     " FROM invoices WHERE period_start = :s", s=period.start)
    return int(row["issued"]), int(row["recorded"]), int(row["corrupt"])


def _drained() -> bool:
    """No message left, visible or in flight, on the jobs queue and on the S3 events queue."""
    from billing.config import settings
    from billing.devstack.s3 import EVENTS_QUEUE, client

    sqs = client(settings(), "sqs")
    for url in (settings().invoice_jobs_queue_url, sqs.get_queue_url(QueueName=EVENTS_QUEUE)["QueueUrl"]):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        if int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]):
            return False
    return True


def _machine_busy() -> float:
    """CPU seconds the whole machine spent busy so far (all cores; /proc/stat)."""
    with open("/proc/stat", encoding="ascii") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _processes(info: dict[str, Any]) -> dict[str, list[int]]:
    """Who does the work, by group: the worker processes, the stack's own process (moto's S3 and SQS, the SMTP
    sink, the S3-event dispatcher) with its gateway processes (idle here), this database's PostgreSQL backends
    and the Redis server."""
    from billing.ports.cache import cache
    from billing.ports.db import database

    with database().transaction() as tx:
        backends = [int(r["pid"]) for r in tx.all(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
    try:
        redis = [int(cache().info("server")["process_id"])]
    except Exception:  # noqa: BLE001 - a remote Redis: not counted
        redis = []
    return {"workers": info["workerPids"], "stack": [info["pid"], *info["gatewayPids"]], "postgresql": backends,
            "redis": redis}


def _cpu_by_group(before: dict[str, float], groups: dict[str, list[int]]) -> dict[str, float]:
    return {name: sum(process_cpu(pid) - before.get(pid, 0.0) for pid in pids) for name, pids in groups.items()}


def one_run(workers: int, customers: int, rng: random.Random, timeout: float) -> dict[str, Any]:
    from billing.devstack.schedules import run_schedules
    from billing.domain.period import Period

    from .measure import ROOT

    period = Period.previous_month(date.today())
    with local_stack("monthly_run", "--workers", str(workers)) as info, _stack_env(info):
        seed(customers, period, rng)
        fired = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), timezone.utc) + timedelta(hours=2)
        groups = _processes(info)
        cpu_before = {pid: process_cpu(pid) for pids in groups.values() for pid in pids}
        busy_before = _machine_busy()
        start = clock()
        queued = run_schedules(ROOT, fired, ["MonthlySchedulerFunction"])["MonthlySchedulerFunction"]["queued"]
        deadline = start + timeout
        issued = recorded = corrupt = 0
        while recorded + corrupt < customers and clock() < deadline and info["process"].poll() is None:
            time.sleep(0.25)
            issued, recorded, corrupt = progress(period)
            if issued == customers and recorded + corrupt < customers and _drained():
                time.sleep(1)  # every event was handled: one read as not matching its metadata (see progress)
                issued, recorded, corrupt = progress(period)
                if _drained():
                    corrupt = customers - recorded
                    break
        elapsed = clock() - start
        busy = _machine_busy() - busy_before
        later = _processes(info)  # backends the workers opened during the run started at 0 s of CPU
        groups["postgresql"] = sorted(set(groups["postgresql"]) | set(later["postgresql"]))
        cpu = _cpu_by_group(cpu_before, groups)
    if recorded + corrupt < customers:
        raise RuntimeError(f"{workers} worker(s): {recorded}/{customers} recorded ({issued} issued, {queued} queued)"
                           f" after {elapsed:.0f} s; see {info['logPath']}")
    per_invoice = {name: round(seconds * 1000 / customers, 1) for name, seconds in cpu.items()}
    per_invoice["machine, all processes"] = round(busy * 1000 / customers, 1)
    log(f"  monthly_run: {workers} worker(s), {customers} invoices in {elapsed:.1f} s = {customers / elapsed:.1f}/s;"
        f" CPU ms per invoice {per_invoice}; cores busy {busy / elapsed:.2f}")
    return {"workers": workers, "seconds": round(elapsed, 2), "rate": customers / elapsed, "corrupt": corrupt,
            "cpu_ms_per_invoice": per_invoice, "cores_busy": round(busy / elapsed, 2)}


def run(smoke: bool) -> dict[str, Any]:
    customers = SMOKE_CUSTOMERS if smoke else int(os.environ.get("BENCH_MONTHLY_CUSTOMERS", CUSTOMERS))
    repetitions = SMOKE_REPETITIONS if smoke else int(os.environ.get("BENCH_MONTHLY_REPETITIONS", REPETITIONS))
    rng = random.Random(8)
    one, two = [], []
    for _ in range(repetitions):  # interleaved: the machine's other load falls on both alike
        one.append(one_run(1, customers, rng, timeout=120 if smoke else 1800))
        two.append(one_run(2, customers, rng, timeout=120 if smoke else 1800))
    return rate("monthly_run", "invoices/s", [r["rate"] for r in two], "one worker process", [r["rate"] for r in one],
                TARGET, customers=customers, workers=2, cpu_count=os.cpu_count(),
                seconds={"1 worker": [r["seconds"] for r in one], "2 workers": [r["seconds"] for r in two]},
                marked_corrupt={"1 worker": [r["corrupt"] for r in one], "2 workers": [r["corrupt"] for r in two]},
                # Where the CPU goes, per invoice: workers, the stack's process (gateway, moto, SMTP sink), this
                # database's PostgreSQL backends, Redis, and the whole machine (its other load included).
                cpu_ms_per_invoice={"1 worker": [r["cpu_ms_per_invoice"] for r in one],
                                    "2 workers": [r["cpu_ms_per_invoice"] for r in two]},
                cores_busy={"1 worker": [r["cores_busy"] for r in one], "2 workers": [r["cores_busy"] for r in two]},
                measured="from the schedule's event to the last invoice issued with its S3 event recorded")
