"""Yearly terms that end without renewal: warn 7 days before, then mark the subscription EXPIRED."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from billing.ports.db import Database, alerts, database
from billing.services.alerts.notify import notify

WARN_DAYS = 7

# The end of the yearly term that held yesterday, for each open, non-renewing yearly subscription: if it
# ended before today, the term was not renewed.
TERMS_SQL = """
SELECT s.id::text AS id, s.user_id::text AS user_id,
       (s.started_on + make_interval(years => (date_part('year', age(:yesterday, s.started_on)) + 1)::int)
        - interval '1 day')::date AS term_end
FROM subscriptions s
WHERE s.ended_on IS NULL AND s.interval = 'YEAR' AND NOT s.auto_renew AND s.status <> 'PAUSED'
  AND s.started_on < :today
"""


def expire_subscriptions(today: date, *, db: Database | None = None) -> dict[str, list[str]]:
    db = db or database()
    expired, warned, raised = [], [], []
    with db.transaction() as tx:
        for term in tx.all(TERMS_SQL, today=today, yesterday=today - timedelta(days=1)):
            if term["term_end"] < today:
                tx.execute("UPDATE subscriptions SET status = 'EXPIRED', ended_on = :end WHERE id = CAST(:id AS uuid)",
                           id=term["id"], end=term["term_end"])
                expired.append(term["id"])
            elif term["term_end"] - today <= timedelta(days=WARN_DAYS):
                alert = _expiring_alert(tx, term)
                if alert:
                    raised.append(alert)
                    warned.append(term["id"])
    notify(raised, db=db)
    return {"expired": expired, "warned": warned}


def _expiring_alert(tx, term: dict[str, Any]) -> dict[str, Any] | None:
    already = tx.value(
        "SELECT 1 FROM billing_alerts WHERE user_id = CAST(:u AS uuid) AND type = 'SUBSCRIPTION_EXPIRING'"
        " AND period_start = :end", u=term["user_id"], end=term["term_end"])
    if already:
        return None
    alert = alerts.raise_alert(tx, term["user_id"], "SUBSCRIPTION_EXPIRING",
                               f"Your yearly subscription ends on {term['term_end']} and will not renew")
    tx.execute("UPDATE billing_alerts SET period_start = :end WHERE id = CAST(:id AS uuid)",
               id=alert["id"], end=term["term_end"])
    return alert
