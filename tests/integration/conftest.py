"""Integration tests run against the real servers of the session's `infra`, with factories that clean up."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pytest

from billing.services.customers.upsert import CustomerInput, upsert_customer
from billing.services.usage.ingest import UsageEvent, ingest_usage


@pytest.fixture(autouse=True)
def _infra(infra):
    return infra


@pytest.fixture
def db(infra):
    from billing.ports.db import database

    return database()


def customer_input(**overrides) -> CustomerInput:
    values = dict(name="Acme SARL", email="compta@acme.example", address_line1="8 quai Saint-Antoine",
                  postal_code="69002", city="Lyon", country="FR", plan="BASIC", interval="MONTH", currency="EUR",
                  locale="fr-FR", start_date=date(2026, 1, 1))
    values.update(overrides)
    return CustomerInput(**values)


@pytest.fixture
def make_customer(db):
    """Creates customers with fresh ids; their rows are removed after the test."""
    created: list[str] = []

    def make(requests_in_october: int = 0, **overrides) -> str:
        user_id = str(uuid.uuid4())
        upsert_customer(user_id, customer_input(**overrides), today=date(2026, 11, 21))
        created.append(user_id)
        if requests_in_october:
            ingest_usage([UsageEvent(f"{user_id}-oct", user_id, datetime(2026, 10, 15, 12, tzinfo=timezone.utc),
                                     requests_in_october)])
        return user_id

    yield make
    with db.transaction() as tx:
        for user_id in created:
            for sql in (
                "DELETE FROM credit_applications WHERE invoice_id IN"
                " (SELECT id FROM invoices WHERE user_id = CAST(:u AS uuid))",
                "DELETE FROM credits WHERE user_id = CAST(:u AS uuid)",
                "DELETE FROM payments WHERE invoice_id IN (SELECT id FROM invoices WHERE user_id = CAST(:u AS uuid))",
                "DELETE FROM credit_notes WHERE user_id = CAST(:u AS uuid)",
                "DELETE FROM billing_alerts WHERE user_id = CAST(:u AS uuid)",
                "DELETE FROM gdpr_consents WHERE user_id = CAST(:u AS uuid)",
                "DELETE FROM invoice_items WHERE invoice_id IN (SELECT id FROM invoices WHERE user_id = CAST(:u AS uuid))",
                "DELETE FROM invoices WHERE user_id = CAST(:u AS uuid)",
                "DELETE FROM subscriptions WHERE user_id = CAST(:u AS uuid)",
                "DELETE FROM user_profiles WHERE user_id = CAST(:u AS uuid)",
                "DELETE FROM usage_monthly WHERE user_id = CAST(:u AS uuid)",
                "DELETE FROM usage_daily WHERE user_id = CAST(:u AS uuid)",
                "DELETE FROM usage_logs WHERE user_id = CAST(:u AS uuid)",
                "DELETE FROM users WHERE id = CAST(:u AS uuid)",
            ):
                tx.execute(sql, u=user_id)


# The roll-ups recomputed from the raw events, for the customers given: {(user, day): requests} and
# {(user, month): requests}, and as the roll-up tables hold them.
ROLLUPS_FROM_EVENTS = {
    "daily": "SELECT user_id::text, (occurred_at AT TIME ZONE 'UTC')::date, sum(requests) FROM usage_logs"
             " WHERE user_id = ANY(CAST(:u AS uuid[])) GROUP BY 1, 2",
    "monthly": "SELECT user_id::text, date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, sum(requests)"
               " FROM usage_logs WHERE user_id = ANY(CAST(:u AS uuid[])) GROUP BY 1, 2",
}
ROLLUP_TABLES = {
    "daily": "SELECT user_id::text, day, requests FROM usage_daily WHERE user_id = ANY(CAST(:u AS uuid[]))",
    "monthly": "SELECT user_id::text, month, requests FROM usage_monthly WHERE user_id = ANY(CAST(:u AS uuid[]))",
}


@pytest.fixture
def rollups(db):
    """rollups(users) -> {"daily": ..., "monthly": ...}, each (from the events, from the roll-up table)."""
    def read(users: list[str]) -> dict[str, tuple[dict, dict]]:
        with db.transaction() as tx:
            return {
                kind: tuple({(r[0], r[1]): int(r[2]) for r in tx.con.run(sql[kind], u=users)}
                            for sql in (ROLLUPS_FROM_EVENTS, ROLLUP_TABLES))
                for kind in ("daily", "monthly")
            }
    return read
