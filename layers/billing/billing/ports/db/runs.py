"""Who is billable for a period: every customer with a subscription stretch inside it."""
from __future__ import annotations

from datetime import date

from . import Tx


def billable_customers(tx: Tx, start: date, end: date) -> list[str]:
    rows = tx.con.run(
        "SELECT DISTINCT s.user_id::text FROM subscriptions s JOIN user_profiles p ON p.user_id = s.user_id "
        "WHERE s.started_on <= :e AND (s.ended_on IS NULL OR s.ended_on >= :s) ORDER BY 1",
        s=start, e=end,
    )
    return [row[0] for row in rows]
