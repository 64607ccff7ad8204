"""Figure 6: warm `GET /billing/invoices` through the local gateway, 16 concurrent keep-alive clients; p99 in ms.

Three local stacks run side by side, each with its own database seeded with the same invoices: one as deployed
(list pages cached in Redis), one started with LIST_CACHE_SECONDS=0 (every page read from PostgreSQL), the
baseline, and one as deployed but with its gateway in the stack's own process (`--gateway-processes 0`), the
single-process comparison reported as `one_process`. The other two run `--gateway-processes 2`. Repetitions
alternate between them. The load comes from ApacheBench (`ab -k`, Debian's
apache2-utils): a C client that costs the server almost no CPU and writes every request's time (`-g`).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
import uuid
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .measure import figure, log, process_cpu
from .stack import local_stack

CONCURRENCY = 16
GATEWAY_PROCESSES = 2  # `billing stack --gateway-processes`, set here whatever the default
# The rate limit still runs (one Redis round trip per request); 5,000 requests from one admin in seconds
# would otherwise be refused after the first 120.
STACK_ENV = {"RATE_LIMIT_PER_MINUTE": "100000000"}


def run(smoke: bool) -> dict[str, Any]:
    ab = shutil.which("ab")
    if ab is None:
        raise RuntimeError("ab not found: apt-get install apache2-utils")
    customers, months = (40, 3) if smoke else (2000, 12)
    requests, warmup, rounds = (100, 20, 1) if smoke else (5000, 500, 3)
    path = "/billing/invoices"
    samples: list[float] = []
    baseline: list[float] = []
    one_process: list[float] = []
    detail: dict[str, list[dict[str, float]]] = {"cached": [], "uncached": [], "one_process": []}
    processes = ("--gateway-processes", str(GATEWAY_PROCESSES))
    with ExitStack() as stack:
        cached = stack.enter_context(local_stack("list_latency", *processes, **STACK_ENV))
        uncached = stack.enter_context(local_stack("list_latency_nocache", *processes, LIST_CACHE_SECONDS="0",
                                                   **STACK_ENV))
        single = stack.enter_context(local_stack("list_latency_one_process", "--gateway-processes", "0",
                                                 **STACK_ENV))
        stacks = (("cached", cached, samples), ("uncached", uncached, baseline), ("one_process", single, one_process))
        for _label, info, _into in stacks:
            log(f"  list_latency: seeding {customers} customers x {months} invoices into {info['databaseUrl']}")
            seed(info["databaseUrl"], customers, months)
        for _label, info, _into in stacks:
            _ab(ab, info, path, warmup)  # warm: modules imported, pools and the cache filled
        for i in range(rounds):
            for label, info, into in stacks:
                stats = _ab(ab, info, path, requests)
                detail[label].append(stats)
                into.append(stats["p99"] / 1000)
                log(f"  list_latency round {i + 1}/{rounds} {label}: {json.dumps(stats)}")
    return figure(
        "list_latency", "ms", samples, "the same route with the list cache off (LIST_CACHE_SECONDS=0)", baseline,
        50.0,
        what=f"p99 of GET {path} (admin, first page of 20) through the local gateway ({GATEWAY_PROCESSES} gateway "
             f"processes), {requests} requests, {CONCURRENCY} concurrent keep-alive clients (ab -k); "
             f"{customers} customers x {months} invoices",
        client="ab (apache2-utils) -k, per-request times from -g (ms resolution)",
        gateway_processes=GATEWAY_PROCESSES, cached=_summary(detail["cached"]), uncached=_summary(detail["uncached"]),
        # The same cached stack with its gateway in the stack's process (--gateway-processes 0), same rounds.
        one_process=_summary(detail["one_process"]),
    )


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    """The median over the rounds of each percentile and of the throughput."""
    if not runs:
        return {}
    keys = runs[0].keys()
    return {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in keys} | {"rounds": runs}


def _stack_cpu_seconds(info: dict[str, Any]) -> float:
    """The stack process's CPU plus its gateway processes' (`--gateway-processes`)."""
    return sum(process_cpu(pid) for pid in [info["pid"], *info.get("gatewayPids", [])])


def _ab(ab: str, info: dict[str, Any], path: str, requests: int) -> dict[str, float]:
    cpu_before = _stack_cpu_seconds(info)
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        times = Path(tmp) / "times.tsv"
        proc = subprocess.run(
            [ab, "-q", "-k", "-n", str(requests), "-c", str(CONCURRENCY), "-s", "60", "-g", str(times),
             "-H", f"Authorization: Bearer {info['adminToken']}", info["baseUrl"] + path],
            capture_output=True, text=True, check=False, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"ab failed ({proc.returncode}): {proc.stderr.strip()[-600:]}")
        out = proc.stdout
        failed = next((line.split()[2] for line in out.splitlines() if line.startswith("Failed requests")), "?")
        if failed != "0" or "Non-2xx responses" in out:
            raise RuntimeError(f"ab saw failed requests:\n{out[-1500:]}")
        # starttime, seconds, ctime, dtime, ttime, wait: ttime is the request's total time in ms.
        rows = [line.split("\t") for line in times.read_text().splitlines()[1:] if line.strip()]
        latencies = sorted(float(r[4]) for r in rows)
    cpu = _stack_cpu_seconds(info) - cpu_before
    rate = next((float(line.split()[3]) for line in out.splitlines() if line.startswith("Requests per second")), 0.0)
    return {"p50": _pct(latencies, 50), "p90": _pct(latencies, 90), "p99": _pct(latencies, 99),
            "max": latencies[-1], "requests": len(latencies), "per_second": rate,
            # The stack's CPU per request, gateway processes included (PostgreSQL and Redis not): unlike the latencies,
            # barely moved by other work on the machine.
            "server_cpu_ms": round(cpu * 1000 / max(1, len(latencies)), 2),
            "keep_alive": int(next((line.split()[-1] for line in out.splitlines()
                                    if line.startswith("Keep-Alive requests")), "0"))}


def _pct(sorted_values: list[float], p: float) -> float:
    """Nearest rank: the smallest value at or above p % of the requests."""
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def seed(database_url: str, customers: int, months: int) -> None:
    """`customers` customers with a profile-like encrypted buyer and one issued invoice a month each, in bulk
    (unnest), as the monthly run would have left them."""
    from billing.config import settings
    from billing.ports import crypto
    from billing.ports.db import Database

    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url
    settings.cache_clear()
    crypto._data_keys.clear()  # cached by version per process; each benchmark database has its own keys
    rnd = random.Random(8)
    db = Database(database_url)
    try:
        today = date.today().replace(day=1)
        seller = json.dumps({"name": "TwinMCP SAS", "siren": "912345678", "vat_number": "FR32912345678"})
        users = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(customers)]
        with db.transaction() as tx:
            tx.execute("INSERT INTO users (id) SELECT CAST(u AS uuid) FROM unnest(CAST(:ids AS text[])) u", ids=users)
            version = crypto.current_version(tx)
            cols: dict[str, list[Any]] = {k: [] for k in (
                "id", "user_id", "number", "start", "end", "issue", "due", "subtotal", "tax", "total", "buyer",
                "created")}
            n = 0
            for m in range(months, 0, -1):
                start = (today - timedelta(days=31 * m)).replace(day=1)
                end = (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
                issue = end + timedelta(days=1)
                for u, user in enumerate(users):
                    n += 1
                    invoice_id = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
                    subtotal = rnd.randrange(0, 500_000)
                    buyer = {"name": f"Customer {u}", "email": f"billing{u}@example.com",
                             "address_line1": f"{u} rue de la Paix", "postal_code": "75002", "city": "Paris",
                             "country": "FR"}
                    sealed = {"enc": crypto.encrypt(tx, json.dumps(buyer), "invoices", "buyer", invoice_id, version)}
                    for key, value in (("id", invoice_id), ("user_id", user), ("number", f"F-{issue:%Y%m}-{n:06d}"),
                                       ("start", start), ("end", end), ("issue", issue),
                                       ("due", issue + timedelta(days=30)), ("subtotal", subtotal),
                                       ("tax", subtotal // 5), ("total", subtotal + subtotal // 5),
                                       ("buyer", json.dumps(sealed)),
                                       ("created", datetime.combine(issue, datetime.min.time(), timezone.utc)
                                        + timedelta(seconds=u))):
                        cols[key].append(value)
            for at in range(0, n, 5000):
                part = {k: v[at:at + 5000] for k, v in cols.items()}
                tx.execute(
                    "INSERT INTO invoices (id, user_id, number, status, currency, period_type, period_start,"
                    " period_end, issue_date, due_date, subtotal_minor, tax_rate, tax_minor, total_minor, buyer,"
                    " seller, locale, pdf_key, issued_at, created_at, updated_at) "
                    "SELECT CAST(id AS uuid), CAST(user_id AS uuid), number, 'SENT', 'EUR', 'MONTH', s, e, i, d,"
                    " sub, 0.2000, tax, total, CAST(buyer AS jsonb), CAST(:seller AS jsonb), 'fr-FR',"
                    " 'invoices/' || number || '.pdf', created, created, created "
                    "FROM unnest(CAST(:id AS text[]), CAST(:user_id AS text[]), CAST(:number AS text[]),"
                    " CAST(:start AS date[]), CAST(:end AS date[]), CAST(:issue AS date[]), CAST(:due AS date[]),"
                    " CAST(:subtotal AS bigint[]), CAST(:tax AS bigint[]), CAST(:total AS bigint[]),"
                    " CAST(:buyer AS text[]), CAST(:created AS timestamptz[]))"
                    " AS t(id, user_id, number, s, e, i, d, sub, tax, total, buyer, created)",
                    seller=seller, **part)
        with db.transaction() as tx:
            tx.execute("ANALYZE invoices")
    finally:
        db.close()
        crypto._data_keys.clear()
        if saved is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = saved
        settings.cache_clear()
