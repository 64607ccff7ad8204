"""Create or update a customer's billing profile, and start or change their subscription."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from billing.domain.errors import InvalidPlan, UnsupportedCurrency
from billing.ports.db import Database, database
from billing.ports.db import customers as repo
from billing.ports.db.plans import get_plan


@dataclass(frozen=True)
class CustomerInput:
    name: str
    email: str
    address_line1: str
    postal_code: str
    city: str
    country: str
    plan: str
    interval: str
    currency: str
    locale: str
    address_line2: str | None = None
    phone: str | None = None
    vat_number: str | None = None
    siren: str | None = None
    start_date: date | None = None


def upsert_customer(user_id: str, data: CustomerInput, *, today: date | None = None,
                    db: Database | None = None) -> dict[str, Any]:
    today = today or date.today()
    with (db or database()).transaction() as tx:
        plan = get_plan(tx, data.plan)
        if plan is None:
            raise InvalidPlan(f"Unknown plan {data.plan!r}")
        if plan.currency != data.currency:
            raise UnsupportedCurrency(f"The {plan.code} plan is billed in {plan.currency}, not {data.currency}")
        repo.ensure_user(tx, user_id)
        profile = {k: v for k, v in asdict(data).items() if k in repo.PROFILE_COLUMNS}
        repo.upsert_profile(tx, user_id, profile)
        current = repo.live_subscription(tx, user_id, for_update=True)
        start = data.start_date or today
        if current is None:
            repo.start_subscription(tx, user_id, plan.code, data.interval, start)
        elif (current["plan_code"], current["interval"]) != (plan.code, data.interval):
            # A change takes effect on its start date; the old subscription ends the day before.
            repo.end_subscription(tx, current["id"], start - timedelta(days=1))
            repo.start_subscription(tx, user_id, plan.code, data.interval, max(start, current["started_on"]))
        return customer_view(tx, user_id)


def customer_view(tx, user_id: str) -> dict[str, Any]:
    profile = repo.get_profile(tx, user_id)
    subscription = repo.live_subscription(tx, user_id)
    return {"profile": profile, "subscription": subscription}
