"""Alerts raised as usage arrives and by the daily schedule, delivered as EventBridge would."""
from __future__ import annotations

import email
import uuid
from datetime import date, datetime, timezone

from billing.domain.period import Period
from billing.services.customers.upsert import upsert_customer
from billing.services.invoices.generate import generate_invoice
from billing.services.usage.ingest import UsageEvent, ingest_usage
from tests.integration.conftest import customer_input
from tests.support import ROOT, api, claims


def alert_types(user: str) -> list[tuple[str, str]]:
    items = api("GET", "/billing/alerts", "/billing/alerts", claims(user))[1]["items"]
    return sorted((a["type"], a["message"]) for a in items)


def use(user: str, requests: int, day: int = 5) -> None:
    ingest_usage([UsageEvent(f"{uuid.uuid4()}", user, datetime(2026, 11, day, 9, tzinfo=timezone.utc), requests)])


def test_usage_thresholds_alert_once_at_80_and_100_percent(make_customer, infra):
    user = make_customer(email="quota@acme.example")  # BASIC: 10,000 included
    use(user, 7_000)
    assert alert_types(user) == []
    use(user, 1_500)
    use(user, 100)
    assert [t for t, _ in alert_types(user)] == ["USAGE_THRESHOLD"]
    use(user, 5_000)
    assert [m for _, m in alert_types(user)] == ["100% of the 10000 requests included this month used",
                                                 "80% of the 10000 requests included this month used"]
    mails = [email.message_from_bytes(p.read_bytes()) for p in infra.mail_dir.glob("*.eml")]
    assert len([m for m in mails if m["To"] == "quota@acme.example"]) == 2


def run_daily_schedule(on: date):
    from billing.devstack.schedules import run_schedules

    at = datetime(on.year, on.month, on.day, 3, tzinfo=timezone.utc)
    return run_schedules(ROOT, at, ["DailyBillingFunction"])["DailyBillingFunction"]


def test_the_daily_schedule_marks_past_due_invoices_overdue_once(make_customer, infra):
    user = make_customer(100, email="late@acme.example")
    invoice = generate_invoice(user, Period.month(2026, 10), today=date(2026, 11, 1))  # due 2026-12-01
    assert invoice["id"] not in run_daily_schedule(date(2026, 12, 1))["overdue"]
    assert invoice["id"] in run_daily_schedule(date(2026, 12, 2))["overdue"]
    assert invoice["id"] not in run_daily_schedule(date(2026, 12, 3))["overdue"]
    detail = api("GET", f"/billing/invoices/{invoice['id']}", "/billing/invoices/{id}", claims(user))[1]
    assert detail["status"] == "OVERDUE"
    assert [t for t, _ in alert_types(user)] == ["INVOICE_OVERDUE"]
    reminders = [email.message_from_bytes(p.read_bytes()) for p in infra.mail_dir.glob("*.eml")]
    assert [m["Subject"].split(" ")[0] for m in reminders if m["To"] == "late@acme.example"] == ["Rappel"]


def test_a_yearly_term_without_renewal_warns_then_expires(make_customer, db):
    user = make_customer(interval="YEAR", start_date=date(2025, 12, 10))
    upsert_customer(user, customer_input(interval="YEAR", start_date=date(2025, 12, 10), auto_renew=False),
                    today=date(2026, 11, 1))
    assert run_daily_schedule(date(2026, 11, 30))["warned"] == []
    first = run_daily_schedule(date(2026, 12, 3))
    again = run_daily_schedule(date(2026, 12, 4))
    assert len(first["warned"]) == 1 and again["warned"] == []
    assert [t for t, _ in alert_types(user)] == ["SUBSCRIPTION_EXPIRING"]
    expired = run_daily_schedule(date(2026, 12, 10))["expired"]
    assert len(expired) == 1
    with db.transaction() as tx:
        row = tx.one("SELECT status::text AS status, ended_on FROM subscriptions WHERE user_id = CAST(:u AS uuid)",
                     u=user)
    assert row == {"status": "EXPIRED", "ended_on": date(2026, 12, 9)}
