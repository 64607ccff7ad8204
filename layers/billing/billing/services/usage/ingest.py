"""Record usage events, by API batch or in bulk (COPY); an event id seen before is skipped, never counted twice."""
from __future__ import annotations

import csv
import io
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import BinaryIO, Iterable, Iterator

from billing.domain.errors import InvalidRequest, UnknownUser
from billing.ports.db import Database, Tx, alerts, database, usage
from billing.ports.db.usage import insert_events
from billing.services.alerts.notify import notify

MAX_EVENTS = 1000
# A bulk chunk is one COPY and one transaction: large enough that per-statement costs vanish, small enough that
# the client holds a few MB, a failure redoes little (a re-run skips what was committed as duplicates), and its
# insert stays well within the pool's 10 s socket timeout on a busy server (~55,000 events).
BULK_CHUNK_BYTES = 4 << 20
BULK_CHUNK_EVENTS = 50_000
# Chunks load on this many connections at once: PostgreSQL spends one backend per chunk, mostly on CPU, so two
# backends keep two cores busy. Chunks stay independent transactions; two chunks sharing event ids or roll-up rows
# wait for each other (ids and roll-up rows are taken in key order), and each event is counted once.
BULK_CONNECTIONS = 2
FILE_HEADER = ",".join(usage.FILE_COLUMNS)


@dataclass(frozen=True)
class UsageEvent:
    event_id: str
    user_id: str
    timestamp: datetime  # timezone-aware
    requests: int


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int


def ingest_usage(events: list[UsageEvent], *, db: Database | None = None) -> IngestResult:
    db = db or database()
    if not 1 <= len(events) <= MAX_EVENTS:
        raise InvalidRequest(f"send between 1 and {MAX_EVENTS} events", code="invalid_events")
    with db.transaction() as tx:
        missing = usage.unknown_users(tx, sorted({e.user_id for e in events}))
        if missing:
            raise UnknownUser(f"Unknown customers: {', '.join(missing[:5])}", userIds=missing[:20])
        accepted = insert_events(
            tx,
            [e.event_id for e in events],
            [e.user_id for e in events],
            [e.timestamp for e in events],
            [e.requests for e in events],
        )
        touched = sorted({(e.user_id, e.timestamp.astimezone(timezone.utc).date().replace(day=1)) for e in events})
        raised = alerts.raise_usage_thresholds(tx, [u for u, _ in touched], [m for _, m in touched]) \
            if accepted else []
    notify(raised, db=db)
    return IngestResult(accepted=accepted, duplicates=len(events) - accepted)


def ingest_csv(stream: BinaryIO, *, chunk_bytes: int = BULK_CHUNK_BYTES, connections: int = BULK_CONNECTIONS,
               db: Database | None = None) -> IngestResult:
    """A usage file: UTF-8 CSV with the header `eventId,userId,timestamp,requests`, one event per line (no line
    breaks inside a field), a timestamp in ISO 8601 (UTC when it has no offset). Each chunk of lines is COPYed,
    checked by PostgreSQL (a bad row raises `invalid_usage_row` with its line in the file) and committed with its
    roll-ups, `connections` chunks at a time; a file re-sent after a failure only adds what is missing."""
    header = stream.readline().decode("utf-8-sig", errors="replace").strip()
    if header.replace('"', "").replace(" ", "") != FILE_HEADER:
        raise InvalidRequest(f"a usage file starts with the header {FILE_HEADER}", code="invalid_usage_file",
                             line=1)
    return _ingest_chunks(_numbered_blocks(_line_blocks(stream, chunk_bytes)), connections, db or database())


def ingest_bulk(events: Iterable[UsageEvent], *, chunk_events: int = BULK_CHUNK_EVENTS,
                connections: int = BULK_CONNECTIONS, db: Database | None = None) -> IngestResult:
    """Any number of events through the same COPY path as `ingest_csv`, `chunk_events` per transaction."""
    def chunks() -> Iterator[tuple[bytes, int]]:
        first = 1
        for chunk in _batches(events, chunk_events):
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(
                (e.event_id, e.user_id, e.timestamp.isoformat(), e.requests) for e in chunk)
            yield text.getvalue().encode(), first
            first += len(chunk)

    return _ingest_chunks(chunks(), connections, db or database())


def _ingest_chunks(chunks: Iterator[tuple[bytes, int]], connections: int, db: Database) -> IngestResult:
    """Loads (block, number of its first line) chunks on up to `connections` connections at once, reading at most
    one chunk ahead. The first failure in file order is raised once the chunks under way are done (chunks loaded
    alongside it may have been committed: a re-sent file skips them as duplicates)."""
    total = accepted = 0
    failure: BaseException | None = None
    with ThreadPoolExecutor(max(1, connections), thread_name_prefix="usage-bulk") as pool:
        pending: deque[Future[tuple[int, int]]] = deque()
        for block, first_line in chunks:
            pending.append(pool.submit(_ingest_chunk, block, first_line, db))
            if len(pending) > connections:  # all connections busy and one chunk queued: wait for the oldest
                try:
                    rows, new = pending.popleft().result()
                except BaseException as exc:  # noqa: BLE001 - raised below, after the others
                    failure = exc
                    break
                total, accepted = total + rows, accepted + new
        if failure is not None:
            for future in pending:
                future.cancel()  # a chunk queued but not started is not loaded
        for future in pending:
            if future.cancelled():
                continue
            try:
                rows, new = future.result()
            except BaseException as exc:  # noqa: BLE001 - the earliest chunk's failure is the one raised
                failure = failure or exc
                continue
            total, accepted = total + rows, accepted + new
    if failure is not None:
        raise failure
    return IngestResult(accepted=accepted, duplicates=total - accepted)


def _ingest_chunk(block: bytes, first_line: int, db: Database) -> tuple[int, int]:
    """(rows, new events) of one chunk, in one transaction; the alerts it raises are mailed after the commit."""
    with db.transaction() as tx:
        rows = _stage(tx, block, first_line)
        unknown = usage.unknown_staged_users(tx)
        if unknown:
            raise UnknownUser(f"Unknown customers: {', '.join(unknown[:5])}", userIds=unknown)
        touched = usage.insert_staged(tx)
        raised = alerts.raise_usage_thresholds(tx, [u for u, _, _ in touched], [m for _, m, _ in touched]) \
            if touched else []
    notify(raised, db=db)
    return rows, sum(n for _, _, n in touched)


def _stage(tx: Tx, block: bytes, first_line: int) -> int:
    try:
        return usage.stage(tx, [block])
    except usage.RejectedRow as rejected:
        line = first_line + rejected.line - 1 if rejected.line else None
        raise InvalidRequest(f"line {line}: {rejected.reason}" if line else rejected.reason,
                             code="invalid_usage_row", line=line) from None


def _line_blocks(stream: BinaryIO, size: int) -> Iterator[bytes]:
    """The rest of the stream in blocks of about `size` bytes, each ending at a line break."""
    rest = b""
    while True:
        data = stream.read(size)
        if not data:
            break
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        rest = data[cut:]
        yield data[:cut]
    if rest.strip():
        yield rest + b"\n"


def _numbered_blocks(blocks: Iterable[bytes]) -> Iterator[tuple[bytes, int]]:
    """Each block with the file line number of its first line (the header is line 1)."""
    first_line = 2
    for block in blocks:
        yield block, first_line
        first_line += block.count(b"\n")


def _batches(items: Iterable[UsageEvent], size: int) -> Iterator[list[UsageEvent]]:
    batch: list[UsageEvent] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
