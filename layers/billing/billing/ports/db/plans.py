"""Plans (seeded by migration 0002, editable rows)."""
from __future__ import annotations

from billing.domain.pricing import Plan

from . import Tx


def get_plan(tx: Tx, code: str) -> Plan | None:
    row = tx.one(
        "SELECT code, name, currency, monthly_fee_minor, yearly_fee_minor, included_requests, "
        "overage_per_1000_minor FROM plans WHERE code = :code AND active",
        code=code,
    )
    return Plan(**{**row, "currency": row["currency"].strip()}) if row else None
