"""Usage: one-statement bulk ingestion with de-duplication, and period totals from the daily roll-up."""
from __future__ import annotations

from datetime import date, datetime

from . import Tx

# One round trip for the whole batch: insert what is new, roll the new rows up by day in the same statement.
INGEST_SQL = """
WITH incoming AS (
    SELECT * FROM unnest(CAST(:event_ids AS text[]), CAST(:user_ids AS uuid[]),
                         CAST(:occurred AS timestamptz[]), CAST(:requests AS integer[]))
        AS t(event_id, user_id, occurred_at, requests)
), inserted AS (
    INSERT INTO usage_logs (event_id, user_id, occurred_at, requests)
    SELECT event_id, user_id, occurred_at, requests FROM incoming
    ON CONFLICT (event_id) DO NOTHING
    RETURNING user_id, occurred_at, requests
), rolled AS (
    INSERT INTO usage_daily (user_id, day, requests)
    SELECT user_id, (occurred_at AT TIME ZONE 'UTC')::date, sum(requests) FROM inserted GROUP BY 1, 2
    ON CONFLICT (user_id, day) DO UPDATE SET requests = usage_daily.requests + EXCLUDED.requests
    RETURNING 1
)
SELECT count(*) FROM inserted
"""


def insert_events(tx: Tx, event_ids: list[str], user_ids: list[str], occurred: list[datetime],
                  requests: list[int]) -> int:
    """Returns how many events were new."""
    return int(tx.value(INGEST_SQL, event_ids=event_ids, user_ids=user_ids, occurred=occurred, requests=requests))


def requests_in(tx: Tx, user_id: str, start: date, end: date) -> int:
    return int(
        tx.value(
            "SELECT COALESCE(sum(requests), 0) FROM usage_daily "
            "WHERE user_id = CAST(:u AS uuid) AND day BETWEEN :s AND :e",
            u=user_id, s=start, e=end,
        )
    )
