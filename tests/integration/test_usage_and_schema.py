"""Usage ingestion in one statement, the daily roll-up, migrations, and health with a dependency down."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pg8000.native
import pytest

from billing.ports.db import Connection, usage
from billing.ports.db.migrate import migrate, migration_files
from billing.services.usage.ingest import UsageEvent, ingest_usage
from tests.support import Undo


def test_a_thousand_events_take_one_insert_statement(make_customer, db, monkeypatch):
    user = make_customer()
    statements: list[str] = []
    real_run = Connection.run  # the pool's connection class (its `run` caches the :name conversion)

    def counting_run(self, sql, *args, **kwargs):
        statements.append(sql)
        return real_run(self, sql, *args, **kwargs)

    monkeypatch.setattr(Connection, "run", counting_run)
    events = [UsageEvent(f"{user}-{i}", user, datetime(2026, 10, 1 + i % 31, 8, tzinfo=timezone.utc), 3)
              for i in range(1000)]
    result = ingest_usage(events, db=db)
    inserts = [s for s in statements if "INSERT INTO usage_logs" in s]
    assert (result.accepted, result.duplicates, len(inserts)) == (1000, 0, 1)
    assert len(statements) <= 5  # BEGIN, the user check, the insert, COMMIT


def test_duplicate_event_ids_are_counted_once_even_within_one_batch(make_customer, db, rollups):
    user = make_customer()
    at = datetime(2026, 10, 3, tzinfo=timezone.utc)
    first = ingest_usage([UsageEvent("dup-a", user, at, 10), UsageEvent("dup-a", user, at, 10),
                          UsageEvent("dup-b", user, at, 5)], db=db)
    second = ingest_usage([UsageEvent("dup-b", user, at, 5), UsageEvent("dup-c", user, at, 1)], db=db)
    assert (first.accepted, first.duplicates, second.accepted, second.duplicates) == (2, 1, 1, 1)
    with db.transaction() as tx:
        assert usage.requests_in(tx, user, date(2026, 10, 1), date(2026, 10, 31)) == 16
    held = rollups([user])
    assert held["daily"][0] == held["daily"][1] == {(user, date(2026, 10, 3)): 16}
    assert held["monthly"][0] == held["monthly"][1] == {(user, date(2026, 10, 1)): 16}


def test_daily_and_monthly_rollups_sum_by_utc_day_and_month_and_match_the_raw_events(make_customer, db, rollups):
    user = make_customer()
    events = [UsageEvent(f"{user}-r{i}", user, datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc), 7)
              for i in range(3)] + [UsageEvent(f"{user}-nov", user, datetime(2026, 11, 1, 0, 5, tzinfo=timezone.utc), 4)]
    ingest_usage(events, db=db)
    with db.transaction() as tx:
        october = usage.requests_in(tx, user, date(2026, 10, 1), date(2026, 10, 31))
        raw = tx.value("SELECT sum(requests) FROM usage_logs WHERE user_id = CAST(:u AS uuid)"
                       " AND occurred_at >= '2026-10-01T00:00:00Z' AND occurred_at < '2026-11-01T00:00:00Z'", u=user)
    assert october == raw == 21
    held = rollups([user])
    assert held["daily"][0] == held["daily"][1] and held["monthly"][0] == held["monthly"][1]
    assert held["monthly"][1] == {(user, date(2026, 10, 1)): 21, (user, date(2026, 11, 1)): 4}


def test_whole_months_are_read_from_the_monthly_rollup_other_periods_from_the_daily_one(make_customer, db):
    user = make_customer()
    ingest_usage([UsageEvent(f"{user}-p{m}-{d}", user, datetime(2026, m, d, 12, tzinfo=timezone.utc), d)
                  for m in (9, 10, 11) for d in (1, 15, 30)], db=db)
    # (start, end): (requests, months of the monthly roll-up in it)
    periods = {(date(2026, 10, 1), date(2026, 10, 31)): (46, 1),
               (date(2026, 9, 1), date(2026, 11, 30)): (138, 3),
               (date(2026, 10, 2), date(2026, 10, 31)): (45, 0),
               (date(2026, 10, 1), date(2026, 10, 30)): (46, 0),
               (date(2026, 9, 15), date(2026, 10, 15)): (61, 0)}
    with pytest.raises(Undo):
        with db.transaction() as tx:
            for (start, end), (total, _) in periods.items():
                assert usage.requests_in(tx, user, start, end) == usage.requests_by_user(tx, start, end)[user] == total
            # Only a read of the monthly roll-up sees this (rolled back below): the daily one and the events agree.
            tx.execute("UPDATE usage_monthly SET requests = requests + 1000 WHERE user_id = CAST(:u AS uuid)", u=user)
            for (start, end), (total, months) in periods.items():
                read = total + 1000 * months
                assert usage.requests_in(tx, user, start, end) == usage.requests_by_user(tx, start, end)[user] == read
            raise Undo


def test_the_monthly_rollup_migration_backfills_from_the_daily_rollup(make_customer, db):
    from billing.ports.db.migrate import migration_files

    users = [make_customer(), make_customer()]
    ingest_usage([UsageEvent(f"{u}-bf{m}-{d}", u, datetime(2026, m, d, tzinfo=timezone.utc), n + d)
                  for n, u in enumerate(users) for m in (10, 11) for d in (1, 31 if m == 10 else 30)], db=db)
    [migration] = [text for version, _, text in migration_files() if version == 13]
    sql = ("SELECT user_id::text, month, requests FROM usage_monthly WHERE user_id = ANY(CAST(:u AS uuid[]))"
           " ORDER BY 1, 2")

    with pytest.raises(Undo):
        with db.transaction() as tx:  # rebuilt from scratch as `billing migrate` runs it, then rolled back
            maintained = tx.con.run(sql, u=users)
            tx.con.run("DROP TABLE usage_monthly")
            tx.con.execute_simple(migration)
            assert tx.con.run(sql, u=users) == maintained and len(maintained) == 4
            raise Undo


def test_usage_log_rows_cannot_be_updated(make_customer, db):
    user = make_customer(50)
    with pytest.raises(pg8000.exceptions.DatabaseError, match="append-only"):
        with db.transaction() as tx:
            tx.execute("UPDATE usage_logs SET requests = 1 WHERE user_id = CAST(:u AS uuid)", u=user)


def test_migrating_twice_changes_nothing(infra):
    assert migrate(infra.database_url, log=lambda _m: None) == []
    con = pg8000.native.Connection(**__import__("billing.ports.db", fromlist=["x"]).connect_kwargs(infra.database_url))
    try:
        versions = [r[0] for r in con.run("SELECT version FROM schema_migrations ORDER BY version")]
        enums = {r[0] for r in con.run("SELECT typname FROM pg_type WHERE typtype = 'e'")}
        tables = {r[0] for r in con.run("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    finally:
        con.close()
    assert versions == [v for v, _, _ in migration_files()]
    assert {"invoice_status", "payment_status", "subscription_status", "subscription_interval", "credit_type",
            "billing_alert_type"} <= enums
    assert {"users", "api_keys", "libraries", "usage_logs", "usage_daily", "usage_monthly", "user_profiles", "plans",
            "subscriptions", "invoices", "invoice_items", "invoice_number_sequences", "payments", "credits",
            "credit_applications", "billing_alerts", "audit_events", "gdpr_consents"} <= tables


def test_one_payment_per_provider_transaction(make_customer, db):
    from billing.domain.period import Period
    from billing.ports.db import violates
    from billing.services.invoices.generate import generate_invoice

    invoice = generate_invoice(make_customer(10), Period.month(2026, 10), today=date(2026, 11, 21))
    insert = ("INSERT INTO payments (invoice_id, amount_minor, currency, provider, provider_transaction_id)"
              " VALUES (CAST(:i AS uuid), 100, 'EUR', 'stripe', 'tx-1')")
    with db.transaction() as tx:
        tx.execute(insert, i=invoice["id"])
    with pytest.raises(pg8000.exceptions.DatabaseError) as raised:
        with db.transaction() as tx:
            tx.execute(insert, i=invoice["id"])
    assert violates(raised.value, "payments_provider_provider_transaction_id_key")
    with db.transaction() as tx:
        tx.execute("DELETE FROM payments WHERE invoice_id = CAST(:i AS uuid)", i=invoice["id"])


def test_health_is_503_when_redis_is_down(infra, monkeypatch):
    import json

    import billing.ports.cache as cache
    from billing.config import settings
    from billing.devstack.lambda_runtime import LambdaContext, handler_of
    from billing.devstack.services import free_port
    from billing.devstack.template import http_routes, load_template
    from tests.support import ROOT, http_event

    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    settings.cache_clear()
    monkeypatch.setattr(cache, "_client", None)
    try:
        health = next(r.function for r in http_routes(load_template(ROOT / "template.yaml"), ROOT)
                      if r.path == "/billing/health")
        reply = handler_of(health)(http_event("GET", "/billing/health", route="/billing/health"), LambdaContext(health))
        body = json.loads(reply["body"])
        assert reply["statusCode"] == 503
        assert (body["dependencies"]["cache"]["status"], body["dependencies"]["database"]["status"]) == ("down", "up")
    finally:
        monkeypatch.undo()
        settings.cache_clear()
        cache._client = None
