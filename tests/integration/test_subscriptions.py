"""Subscription changes over a period: proration by day, pauses, cancellation, yearly fees."""
from __future__ import annotations

import uuid
from datetime import date

import pytest

from billing.domain.errors import NoActiveSubscription
from billing.domain.period import Period
from billing.services.customers.upsert import upsert_customer
from billing.services.invoices.generate import generate_invoice
from tests.integration.conftest import customer_input

OCTOBER = Period.month(2026, 10)
ISSUED = date(2026, 11, 21)


def fees(invoice) -> list[int]:
    return [i["amount_minor"] for i in invoice["items"] if i["kind"] == "fee"]


def test_a_mid_month_plan_change_prorates_each_plan_by_day(make_customer):
    user = make_customer()  # BASIC from 2026-01-01
    upsert_customer(user, customer_input(plan="PREMIUM", start_date=date(2026, 10, 16)), today=ISSUED)
    invoice = generate_invoice(user, OCTOBER, today=ISSUED)
    # BASIC 900 x 15/31 = 435.48 -> 435; PREMIUM 4900 x 16/31 = 2529.03 -> 2529
    assert fees(invoice) == [435, 2529]
    assert "(du 1 octobre 2026 au 15 octobre 2026)" in invoice["items"][0]["description"]


def test_a_paused_stretch_pays_no_fee(make_customer):
    user = make_customer()
    upsert_customer(user, customer_input(status="PAUSED", start_date=date(2026, 10, 11)), today=ISSUED)
    upsert_customer(user, customer_input(status="ACTIVE", start_date=date(2026, 10, 21)), today=ISSUED)
    invoice = generate_invoice(user, OCTOBER, today=ISSUED)
    # 10 days + 11 days of 31 at 900: 290.32 -> 290, 319.35 -> 319
    assert fees(invoice) == [290, 319]


def test_cancelling_bills_the_current_month_then_stops(make_customer):
    user = make_customer()
    upsert_customer(user, customer_input(status="CANCELLED", start_date=date(2026, 9, 10)), today=ISSUED)
    september = generate_invoice(user, Period.month(2026, 9), today=ISSUED)
    assert fees(september) == [900]
    with pytest.raises(NoActiveSubscription):
        generate_invoice(user, OCTOBER, today=ISSUED)


def test_resubscribing_after_a_cancellation_starts_after_the_paid_month(make_customer, db):
    user = make_customer()
    upsert_customer(user, customer_input(status="CANCELLED", start_date=date(2026, 9, 10)), today=ISSUED)
    view = upsert_customer(user, customer_input(plan="PREMIUM", start_date=date(2026, 9, 20)), today=ISSUED)
    assert (view["subscription"]["plan_code"], view["subscription"]["started_on"]) == ("PREMIUM", date(2026, 10, 1))


def test_yearly_fee_is_billed_in_the_anniversary_month_only(make_customer):
    user = make_customer(interval="YEAR", start_date=date(2025, 10, 1))
    assert fees(generate_invoice(user, OCTOBER, today=ISSUED)) == [9000]
    assert fees(generate_invoice(user, Period.month(2026, 9), today=ISSUED)) == [0]  # "nothing to bill" line


def test_changing_the_plan_on_the_day_it_started_replaces_it(make_customer, db):
    user = str(uuid.uuid4())
    upsert_customer(user, customer_input(start_date=date(2026, 10, 1)), today=ISSUED)
    upsert_customer(user, customer_input(plan="PREMIUM", start_date=date(2026, 10, 1)), today=ISSUED)
    with db.transaction() as tx:
        rows = tx.all("SELECT plan_code FROM subscriptions WHERE user_id = CAST(:u AS uuid)", u=user)
        for sql in ("DELETE FROM subscriptions WHERE user_id = CAST(:u AS uuid)",
                    "DELETE FROM user_profiles WHERE user_id = CAST(:u AS uuid)",
                    "DELETE FROM users WHERE id = CAST(:u AS uuid)"):
            tx.execute(sql, u=user)
    assert rows == [{"plan_code": "PREMIUM"}]
