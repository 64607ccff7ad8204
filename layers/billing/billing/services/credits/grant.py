"""Grant a customer a credit, applied to their next issued invoices."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from billing.domain.errors import CurrencyMismatch, CustomerNotFound
from billing.ports.db import Database, credits, customers, database
from billing.services import audit


@dataclass(frozen=True)
class CreditInput:
    amount_minor: int
    currency: str
    type: str  # PROMOTIONAL | REFUND | COMPENSATION | ADJUSTMENT
    reason: str
    expires_on: date | None = None


def grant_credit(user_id: str, data: CreditInput, *, db: Database | None = None) -> dict[str, Any]:
    with (db or database()).transaction() as tx:
        profile = customers.get_profile(tx, user_id)
        if profile is None:
            raise CustomerNotFound(f"No billing profile for {user_id}")
        if profile["currency"].strip() != data.currency:
            raise CurrencyMismatch(f"The customer pays in {profile['currency']}, not {data.currency}")
        credit = credits.insert(tx, user_id=user_id, type=data.type, amount_minor=data.amount_minor,
                                currency=data.currency, reason=data.reason, expires_on=data.expires_on)
        audit.record(tx, "credit.granted", "customer", user_id, credit_id=credit["id"], amount=data.amount_minor,
                     type=data.type)
        return credit
