"""Invoice lines and totals from a plan, a subscription interval and a period's usage."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .money import Money, round_half_up
from .period import Period

OVERAGE_BASE = 1000  # overage is priced per 1,000 requests


@dataclass(frozen=True)
class Plan:
    code: str
    name: str
    currency: str
    monthly_fee_minor: int
    yearly_fee_minor: int
    included_requests: int
    overage_per_1000_minor: int


@dataclass(frozen=True)
class Line:
    kind: str  # fee | overage
    description: str
    quantity: int
    unit_price: Money  # price of base_quantity units
    base_quantity: int = 1

    @property
    def amount(self) -> Money:
        exact = Decimal(self.quantity) * Decimal(self.unit_price.minor) / Decimal(self.base_quantity)
        return Money(round_half_up(exact), self.unit_price.currency)


@dataclass(frozen=True)
class Totals:
    subtotal: Money
    tax_rate: Decimal
    tax: Money
    total: Money


def fee_due(interval: str, subscription_start: date, period: Period) -> bool:
    """A monthly plan pays its fee every period; a yearly one in the period holding its anniversary month."""
    if interval == "MONTH":
        return True
    anniversary = date(period.start.year, subscription_start.month, 1)
    return period.start <= anniversary <= period.end or (
        period.start.year != period.end.year and date(period.end.year, subscription_start.month, 1) <= period.end
    )


def included_requests(plan: Plan, period: Period) -> int:
    """The quota is monthly; a custom period gets it pro rata of 30-day months, rounded half-up."""
    if period.type == "monthly":
        return plan.included_requests
    return round_half_up(Decimal(plan.included_requests) * Decimal(period.days) / Decimal(30))


def lines_for(plan: Plan, interval: str, subscription_start: date, period: Period, requests: int) -> list[Line]:
    lines: list[Line] = []
    if fee_due(interval, subscription_start, period):
        yearly = interval == "YEAR"
        fee = plan.yearly_fee_minor if yearly else plan.monthly_fee_minor
        label = f"{plan.name} plan — {'yearly' if yearly else 'monthly'} subscription"
        lines.append(Line("fee", label, 1, Money(fee, plan.currency)))
    overage = max(0, requests - included_requests(plan, period))
    if overage and plan.overage_per_1000_minor:
        lines.append(
            Line(
                "overage",
                f"Requests above the {included_requests(plan, period):,} included",
                overage,
                Money(plan.overage_per_1000_minor, plan.currency),
                OVERAGE_BASE,
            )
        )
    return lines


def totals(lines: list[Line], currency: str, tax_rate: Decimal) -> Totals:
    """Tax is computed once on the subtotal (one rate per invoice for now), rounded half-up once."""
    subtotal = Money(sum(line.amount.minor for line in lines), currency)
    tax = Money(round_half_up(Decimal(subtotal.minor) * tax_rate), currency)
    return Totals(subtotal, tax_rate, tax, subtotal + tax)
