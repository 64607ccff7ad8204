"""Usage: one-statement bulk ingestion with de-duplication, COPY through a staging table for files, and period
totals from the daily roll-up."""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Iterable

import pg8000.exceptions

from . import Tx, sqlstate

DATA_EXCEPTION_CLASSES = ("22", "23")  # SQLSTATE: a value COPY could not read, a check it failed


class RejectedRow(Exception):
    """COPY refused a staged row: `line` counts from 1 within the rows given to `stage` (0 when not told)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line, self.reason = line, reason

# The roll-ups of the new events, shared by both ingestion paths: `daily` holds the new events summed by (customer,
# UTC day). Every roll-up row is locked in key order, the daily rows first, then the monthly ones (the monthly
# insert reads `rolled`, so it runs after it), so concurrent batches of the same customers queue on each other
# instead of deadlocking, whichever path they come by.
ROLLUP_CTES = """
rolled AS (
    INSERT INTO usage_daily (user_id, day, requests)
    SELECT user_id, day, requests FROM daily ORDER BY 1, 2
    ON CONFLICT (user_id, day) DO UPDATE SET requests = usage_daily.requests + EXCLUDED.requests
    RETURNING 1
), rolled_monthly AS (
    INSERT INTO usage_monthly (user_id, month, requests)
    SELECT user_id, date_trunc('month', day)::date, sum(requests) FROM daily
    WHERE (SELECT count(*) FROM rolled) >= 0
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (user_id, month) DO UPDATE SET requests = usage_monthly.requests + EXCLUDED.requests
    RETURNING 1
)"""

# One round trip for the whole batch: insert what is new, roll the new rows up by day and month in the same
# statement. The batch travels as one JSON parameter: pg8000 escapes array parameters character by character in
# Python, which cost more than the statement itself (90 ms for 1,000 events). Events go in event id order, so two
# batches sharing ids wait for each other rather than deadlock on the unique index.
INGEST_SQL = """
WITH incoming AS (
    SELECT e->>0 AS event_id, CAST(e->>1 AS uuid) AS user_id, CAST(e->>2 AS timestamptz) AS occurred_at,
           CAST(e->>3 AS integer) AS requests
    FROM json_array_elements(CAST(:events AS json)) AS e
), inserted AS (
    INSERT INTO usage_logs (event_id, user_id, occurred_at, requests)
    SELECT event_id, user_id, occurred_at, requests FROM incoming ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING user_id, occurred_at, requests
), daily AS (
    SELECT user_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, sum(requests) AS requests
    FROM inserted GROUP BY 1, 2
), """ + ROLLUP_CTES + """
SELECT count(*) FROM inserted
"""

# The columns of a usage file, in the order COPY reads them.
FILE_COLUMNS = ("eventId", "userId", "timestamp", "requests")

# A session's staging table, emptied by every COMMIT. Its types and checks are the API's (UsageEventIn), so COPY
# rejects a bad row with its line number; a timestamp without an offset is read as UTC (SET LOCAL below).
STAGING_SQL = """
CREATE TEMP TABLE IF NOT EXISTS usage_staging (
    event_id     text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 128),
    user_id      uuid NOT NULL,
    occurred_at  timestamptz NOT NULL,
    requests     integer NOT NULL CHECK (requests BETWEEN 1 AND 10000000)
) ON COMMIT DELETE ROWS
"""

COPY_SQL = "COPY usage_staging (event_id, user_id, occurred_at, requests) FROM STDIN WITH (FORMAT csv)"

UNKNOWN_STAGED_USERS_SQL = """
SELECT s.user_id::text FROM (SELECT DISTINCT user_id FROM usage_staging) s
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id)
ORDER BY 1 LIMIT 20
"""

# The staged rows that are new go to usage_logs and the roll-up in one statement, as INGEST_SQL does; it returns
# the (customer, month) pairs touched with how many new events each got, for the threshold alerts.
INGEST_STAGED_SQL = """
WITH inserted AS (
    INSERT INTO usage_logs (event_id, user_id, occurred_at, requests)
    SELECT event_id, user_id, occurred_at, requests FROM usage_staging ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING user_id, occurred_at, requests
), daily AS (
    SELECT user_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, sum(requests) AS requests, count(*) AS events
    FROM inserted GROUP BY 1, 2
), """ + ROLLUP_CTES + """
SELECT user_id::text, date_trunc('month', day)::date, sum(events)::bigint FROM daily GROUP BY 1, 2
"""


def insert_events(tx: Tx, event_ids: list[str], user_ids: list[str], occurred: list[datetime],
                  requests: list[int]) -> int:
    """Returns how many events were new."""
    events = json.dumps([[e, u, t.isoformat(), r] for e, u, t, r in zip(event_ids, user_ids, occurred, requests)])
    return int(tx.value(INGEST_SQL, events=events))


def unknown_users(tx: Tx, user_ids: list[str]) -> list[str]:
    """Those of `user_ids` (UUID text) that are not customers, sorted."""
    return [row[0] for row in tx.con.run(
        "SELECT u FROM json_array_elements_text(CAST(:ids AS json)) AS u "
        "WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = CAST(u AS uuid)) ORDER BY u", ids=json.dumps(user_ids))]


def stage(tx: Tx, csv_blocks: Iterable[bytes]) -> int:
    """COPY rows (CSV without a header, FILE_COLUMNS) into this transaction's staging table; returns the count."""
    tx.con.run(STAGING_SQL)
    tx.con.run("SET LOCAL TimeZone = 'UTC'")
    try:
        tx.con.run(COPY_SQL, stream=csv_blocks)
    except pg8000.exceptions.DatabaseError as exc:
        if not sqlstate(exc).startswith(DATA_EXCEPTION_CLASSES):
            raise
        info = exc.args[0]
        # The server names the line only in its context text ("COPY usage_staging, line 3, column ...").
        where = re.search(r"COPY usage_staging, line (\d+)", str(info.get("W", "")))
        raise RejectedRow(int(where.group(1)) if where else 0, str(info.get("M", "invalid row"))) from None
    return tx.con.row_count


def unknown_staged_users(tx: Tx) -> list[str]:
    """Up to 20 staged customer ids that are not in users."""
    return [row[0] for row in tx.con.run(UNKNOWN_STAGED_USERS_SQL)]


def insert_staged(tx: Tx) -> list[tuple[str, date, int]]:
    """Inserts the staged events that are new and rolls them up; returns (user id, month, new events) rows."""
    return [(row[0], row[1], int(row[2])) for row in tx.con.run(INGEST_STAGED_SQL)]


def whole_months(start: date, end: date) -> bool:
    """Whether [start, end] is whole calendar months: from a 1st to the last day of a month."""
    return start.day == 1 and start <= end and (end + timedelta(days=1)).day == 1


# A period of whole months sums one usage_monthly row per customer and month, any other one the daily rows; a
# month's row is its first day, so `month BETWEEN start AND end` picks exactly the months of [start, end].
def _rollup(start: date, end: date) -> tuple[str, str]:
    return ("usage_monthly", "month") if whole_months(start, end) else ("usage_daily", "day")


def requests_in(tx: Tx, user_id: str, start: date, end: date) -> int:
    """One customer's requests between start and end (inclusive days)."""
    table, key = _rollup(start, end)
    return int(tx.value(f"SELECT COALESCE(sum(requests), 0) FROM {table} "
                        f"WHERE user_id = CAST(:u AS uuid) AND {key} BETWEEN :s AND :e", u=user_id, s=start, e=end))


# Every customer's requests in a period, from a roll-up: one row per customer and month instead of every event.
REQUESTS_BY_USER_SQL = """
SELECT user_id::text, sum(requests)::bigint FROM {table} WHERE {key} BETWEEN :s AND :e GROUP BY user_id
"""


def requests_by_user(tx: Tx, start: date, end: date) -> dict[str, int]:
    """{user id: requests} for every customer with usage between start and end (inclusive days)."""
    table, key = _rollup(start, end)
    sql = REQUESTS_BY_USER_SQL.format(table=table, key=key)
    return {row[0]: int(row[1]) for row in tx.con.run(sql, s=start, e=end)}
