"""Billing alerts, at most one per (customer, type, invoice) for invoice alerts."""
from __future__ import annotations

import json
from typing import Any

from . import Tx

COLUMNS = ("id::text AS id, user_id::text AS user_id, type::text AS type, message, invoice_id::text AS invoice_id,"
           " created_at, resolved_at")

# For each (customer, month) touched by a batch of usage: the month's requests against the quota of the plan
# in force, and a USAGE_THRESHOLD alert per threshold crossed, once (the partial unique index).
THRESHOLD_SQL = """
WITH touched AS (
    SELECT DISTINCT CAST(t->>0 AS uuid) AS user_id, date_trunc('month', CAST(t->>1 AS date))::date AS month
    FROM json_array_elements(CAST(:touched AS json)) AS t
), quotas AS (
    SELECT t.user_id, t.month,
           (SELECT p.included_requests FROM subscriptions s JOIN plans p ON p.code = s.plan_code
             WHERE s.user_id = t.user_id AND s.started_on <= (t.month + interval '1 month - 1 day')::date
             ORDER BY s.started_on DESC LIMIT 1) AS included
    FROM touched t
), totals AS (
    -- only customers with a quota: summing the month of the others would be wasted
    SELECT q.user_id, q.month, q.included,
           (SELECT COALESCE(sum(m.requests), 0) FROM usage_monthly m WHERE m.user_id = q.user_id
              AND m.month = q.month) AS requests
    FROM quotas q WHERE q.included > 0
)
INSERT INTO billing_alerts (user_id, type, message, period_start, threshold)
SELECT user_id, 'USAGE_THRESHOLD', format('%s%% of the %s requests included this month used', th, included),
       month, th
FROM totals CROSS JOIN (VALUES (80), (100)) AS th(th)
WHERE included > 0 AND requests * 100 >= included * th
ORDER BY user_id, month, th  -- in key order: two batches raising the same alerts wait for each other, no deadlock
ON CONFLICT DO NOTHING
RETURNING id::text AS id, user_id::text AS user_id, type::text AS type, message, invoice_id::text AS invoice_id,
          created_at, resolved_at
"""


def raise_alert(tx: Tx, user_id: str, type: str, message: str, invoice_id: str | None = None) -> dict[str, Any] | None:
    """The new alert, or None when this one was already raised (overdue: once per invoice)."""
    return tx.one(
        "INSERT INTO billing_alerts (user_id, type, message, invoice_id) "
        "VALUES (CAST(:u AS uuid), CAST(:t AS billing_alert_type), :m, CAST(:i AS uuid)) "
        f"ON CONFLICT DO NOTHING RETURNING {COLUMNS}",
        u=user_id, t=type, m=message, i=invoice_id,
    )


def raise_usage_thresholds(tx: Tx, user_ids: list[str], months: list) -> list[dict[str, Any]]:
    # One JSON parameter: pg8000 escapes array parameters character by character, slowly.
    return tx.all(THRESHOLD_SQL, touched=json.dumps([[u, m.isoformat()] for u, m in zip(user_ids, months)]))


def for_user(tx: Tx, user_id: str | None, limit: int = 100) -> list[dict[str, Any]]:
    where = "WHERE user_id = CAST(:u AS uuid)" if user_id else ""
    return tx.all(f"SELECT {COLUMNS} FROM billing_alerts {where} ORDER BY created_at DESC LIMIT :l",
                  **({"u": user_id} if user_id else {}), l=limit)


def for_invoice(tx: Tx, invoice_id: str) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {COLUMNS} FROM billing_alerts WHERE invoice_id = CAST(:i AS uuid) ORDER BY created_at",
                  i=invoice_id)
