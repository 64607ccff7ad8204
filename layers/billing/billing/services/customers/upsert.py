"""Create or update a customer's billing profile, and start or change their subscription."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from billing.domain.errors import InvalidPlan, UnsupportedCurrency
from billing.domain.period import month_end
from billing.ports.db import Database, database
from billing.ports.db import customers as repo
from billing.ports.db.plans import get_plan
from billing.services import audit


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
    status: str = "ACTIVE"  # ACTIVE | PAUSED | CANCELLED
    auto_renew: bool = True


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
        change_subscription(tx, user_id, plan.code, data, data.start_date or today)
        # The fields that changed are named; their personal values never reach the audit trail.
        audit.record(tx, "customer.upserted", "customer", user_id, plan=plan.code, interval=data.interval,
                     status=data.status)
        return customer_view(tx, user_id)


def change_subscription(tx, user_id: str, plan_code: str, data: CustomerInput, start: date) -> None:
    """Changes take effect on `start`: the open stretch ends the day before and the next one opens. Cancelling
    ends the open stretch with the month (billing stops after the current period)."""
    current = repo.open_subscription(tx, user_id, for_update=True)
    wanted = {"plan_code": plan_code, "interval": data.interval, "status": data.status, "auto_renew": data.auto_renew}
    if data.status == "CANCELLED":
        if current:
            repo.close_segment(tx, current["id"], month_end(start), status="CANCELLED")
        return
    if current is None:
        last = repo.latest_subscription(tx, user_id)
        resume = start if last is None else max(start, last["ended_on"] + timedelta(days=1))
        repo.open_segment(tx, user_id, started_on=resume, **wanted)
    elif any(current[k] != v for k, v in wanted.items()):
        if start <= current["started_on"]:
            repo.update_segment(tx, current["id"], **wanted)
        else:
            repo.close_segment(tx, current["id"], start - timedelta(days=1))
            repo.open_segment(tx, user_id, started_on=start, **wanted)


def customer_view(tx, user_id: str) -> dict[str, Any]:
    profile = repo.get_profile(tx, user_id)
    subscription = repo.latest_subscription(tx, user_id)
    return {"profile": profile, "subscription": subscription}
