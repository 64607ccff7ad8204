"""Figure 3: usage ingestion through the bulk path (COPY, `billing usage import`) and through POST /billing/usage.

The baseline, measured in the same run and interleaved with both, is what a naive loader does: pg8000's DB-API
`executemany` of a plain parameterised INSERT into usage_logs, one round trip per row. The HTTP figure's stack
runs `--gateway-processes 2`; the same posts to a stack serving HTTP from its own process are reported as
`http.one_process`.
"""
from __future__ import annotations

import http.client
import io
import itertools
import json
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator
from urllib.parse import urlsplit

from .measure import log, median, rate
from .stack import database, local_stack

EVENTS, SMOKE_EVENTS = 1_000_000, 20_000  # per repetition, bulk and HTTP alike
BASELINE_EVENTS, SMOKE_BASELINE_EVENTS = 10_000, 1_000
USERS, SMOKE_USERS = 10_000, 100
RUNS, SMOKE_RUNS = 3, 1
HTTP_RUNS, SMOKE_HTTP_RUNS = 1, 1
HTTP_EVENTS = 1_000_000  # as the issue asks: a full run posts 1,000 batches of 1,000 per repetition
BATCH = 1000  # events per POST, the route's maximum
CLIENTS = 4  # keep-alive connections, one thread each
GATEWAY_PROCESSES = 2  # `billing stack --gateway-processes` of the measured stack, whatever the default
MONTH = datetime(2026, 10, 1, tzinfo=timezone.utc)
SECONDS_IN_MONTH = 31 * 86400
HEADER = b"eventId,userId,timestamp,requests\n"
BASELINE_SQL = "INSERT INTO usage_logs (event_id, user_id, occurred_at, requests) VALUES (%s, %s, %s, %s)"


def user_ids(count: int) -> list[str]:
    return [str(uuid.UUID(int=(n + 1) * 0x9E3779B97F4A7C15 % (1 << 122), version=4)) for n in range(count)]


def add_users(database_url: str, users: list[str]) -> None:
    from billing.ports.db import Database

    db = Database(database_url)
    with db.transaction() as tx:
        tx.con.run("INSERT INTO users (id) SELECT unnest(CAST(:u AS uuid[])) ON CONFLICT DO NOTHING", u=users)
    db.close()


def _stamps() -> list[str]:
    """4,096 instants spread over October 2026, as ISO 8601 text: formatting each event's own would cost more
    than the database's work."""
    step = SECONDS_IN_MONTH / 4096
    return [(MONTH + timedelta(seconds=int(i * step))).isoformat() for i in range(4096)]


def csv_blocks(prefix: str, count: int, users: list[str], per_block: int = 200_000) -> Iterator[bytes]:
    """`count` events as CSV lines (no header), in blocks: user and time spread evenly, requests 1-7."""
    stamps, n_users = _stamps(), len(users)
    for start in range(0, count, per_block):
        yield "".join(f"{prefix}{i},{users[i % n_users]},{stamps[(i * 7919) & 4095]},{1 + i % 7}\n"
                      for i in range(start, min(count, start + per_block))).encode()


class GeneratedCsv(io.RawIOBase):
    """A usage file made on the fly, header first, so ten million events never sit in memory at once."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = itertools.chain([HEADER], blocks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            self._pending = next(self._blocks, b"")
            if not self._pending:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n], self._pending = self._pending[:n], self._pending[n:]
        return n


def http_bodies(prefix: str, count: int, users: list[str]) -> list[bytes]:
    stamps, n_users = _stamps(), len(users)
    return [json.dumps({"events": [{"eventId": f"{prefix}{i}", "userId": users[i % n_users],
                                    "timestamp": stamps[(i * 7919) & 4095], "requests": 1 + i % 7}
                                   for i in range(start, min(count, start + BATCH))]}).encode()
            for start in range(0, count, BATCH)]


def _empty(database_url: str) -> None:
    from billing.ports.db import Database

    db = Database(database_url)
    with db.transaction() as tx:
        tx.con.run("TRUNCATE usage_logs, usage_daily, usage_monthly")
    db.close()


def _baseline(database_url: str, prefix: str, count: int, users: list[str]) -> float:
    """executemany of a plain INSERT, one round trip per row, in one transaction; events/s."""
    import pg8000.dbapi

    from billing.ports.db import connect_kwargs

    stamps = [datetime.fromisoformat(s) for s in _stamps()]
    rows = [(f"{prefix}{i}", users[i % len(users)], stamps[(i * 7919) & 4095], 1 + i % 7) for i in range(count)]
    con = pg8000.dbapi.connect(**connect_kwargs(database_url))
    try:
        start = time.perf_counter()
        cursor = con.cursor()
        cursor.executemany(BASELINE_SQL, rows)
        con.commit()
        return count / (time.perf_counter() - start)
    finally:
        con.close()


def _bulk(data: bytes) -> tuple[float, int]:
    from billing.services.usage.ingest import ingest_csv

    start = time.perf_counter()
    result = ingest_csv(io.BytesIO(data))
    return time.perf_counter() - start, result.accepted


def _post_all(base_url: str, token: str, bodies: list[bytes]) -> tuple[float, int, int, list[str]]:
    """CLIENTS threads, each with one keep-alive connection, POST the bodies; (seconds, accepted, swapped, errors).

    Every body holds new events, so an answer with duplicates means the function read another request's body:
    the local runtime shares one module (and Powertools' `app.current_event`) between the gateway's threads."""
    parts = urlsplit(base_url)
    queue = iter(bodies)
    lock = threading.Lock()
    accepted, swapped, errors = [0], [0], []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    path = parts.path.rstrip("/") + "/billing/usage"

    def client() -> None:
        con = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        try:
            while True:
                with lock:
                    body = next(queue, None)
                if body is None:
                    return
                try:
                    con.request("POST", path, body=body, headers=headers)
                    reply = con.getresponse()
                    answer = reply.read()
                except (OSError, http.client.HTTPException) as exc:  # counted, and the connection made anew
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    con.close()
                    continue
                with lock:
                    if reply.status == 202:
                        counts = json.loads(answer)
                        accepted[0] += counts["accepted"]
                        swapped[0] += counts["duplicates"] > 0
                    else:
                        errors.append(f"{reply.status} {answer[:200]!r}")
        finally:
            con.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, accepted[0], swapped[0], errors


def run(smoke: bool) -> dict[str, Any]:
    events, base_events = (SMOKE_EVENTS, SMOKE_BASELINE_EVENTS) if smoke else (EVENTS, BASELINE_EVENTS)
    runs, http_runs = (SMOKE_RUNS, SMOKE_HTTP_RUNS) if smoke else (RUNS, HTTP_RUNS)
    http_events = events if smoke else HTTP_EVENTS
    users = user_ids(SMOKE_USERS if smoke else USERS)
    bulk, baseline, http_rates, errors, swaps = [], [], [], [], []
    data = HEADER + b"".join(csv_blocks("b", events, users))
    with database("ingest_usage") as services:
        url = services.database_url
        add_users(url, users)
        for n in range(runs):
            _empty(url)
            baseline.append(_baseline(url, f"x{n}-", base_events, users))
            _empty(url)
            seconds, accepted = _bulk(data)
            if accepted != events:
                errors.append(f"bulk run {n}: {accepted} of {events} events accepted")
            bulk.append(events / seconds)
            log(f"  ingest_usage: bulk {bulk[-1]:,.0f} events/s, executemany {baseline[-1]:,.0f} events/s")
        http_baseline, one_process = [], []
        # The same posts to a stack serving HTTP from its own process (--gateway-processes 0), interleaved.
        with local_stack("ingest_usage_http", "--gateway-processes", str(GATEWAY_PROCESSES),
                         RATE_LIMIT_PER_MINUTE="0") as stack, \
                local_stack("ingest_usage_http_one_process", "--gateway-processes", "0",
                            RATE_LIMIT_PER_MINUTE="0") as single:  # no limit: one caller, hundreds of batches
            for info in (stack, single):
                add_users(info["databaseUrl"], users)
            for n in range(http_runs):
                bodies = http_bodies(f"h{n}-", http_events, users)
                _empty(stack["databaseUrl"])
                http_baseline.append(_baseline(stack["databaseUrl"], f"y{n}-", base_events, users))
                for info, into in ((single, one_process), (stack, http_rates)):
                    _empty(info["databaseUrl"])
                    seconds, accepted, swapped, failed = _post_all(info["baseUrl"], info["adminToken"], bodies)
                    errors += failed[:5]
                    swaps.append(swapped)
                    into.append(accepted / seconds)  # events recorded: a swapped body records nothing new
                log(f"  ingest_usage: HTTP {http_rates[-1]:,.0f} events/s ({CLIENTS} clients, {GATEWAY_PROCESSES} "
                    f"gateway processes), one process {one_process[-1]:,.0f} events/s, "
                    f"executemany {http_baseline[-1]:,.0f} events/s")
    what = f"pg8000 executemany, plain INSERT into usage_logs, one round trip per row ({base_events:,} events)"
    http = rate("ingest_usage_http", "events/s", http_rates, what, http_baseline, 20_000,
                events=http_events, batch=BATCH, clients=CLIENTS, swapped_requests=swaps,
                gateway_processes=GATEWAY_PROCESSES,
                one_process={"median": round(median(one_process)), "runs": [round(r) for r in one_process]})
    result = rate("ingest_usage", "events/s", bulk, what, baseline, 300_000, events=events, users=len(users),
                  path="billing.services.usage.ingest.ingest_csv (COPY into a staging table)", http=http)
    result["target_met"] = bool(result["target_met"] and http["target_met"])
    if errors:
        result["error"] = "; ".join(errors[:5])
    return result
