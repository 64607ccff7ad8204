"""Invoice lines and totals from a plan, a subscription interval and a period's usage."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .format import number as format_number
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
    """A monthly plan pays its fee every period; a yearly one in the period that touches its anniversary month."""
    if interval == "MONTH":
        return True
    year, month = period.start.year, period.start.month
    while (year, month) <= (period.end.year, period.end.month):
        if month == subscription_start.month:
            return True
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return False


def included_requests(plan: Plan, period: Period) -> int:
    """The quota is monthly; a custom period gets it pro rata of 30-day months, rounded half-up."""
    if period.type == "monthly":
        return plan.included_requests
    return round_half_up(Decimal(plan.included_requests) * Decimal(period.days) / Decimal(30))


DESCRIPTIONS = {
    "fr": {"MONTH": "Abonnement {plan} — mensuel", "YEAR": "Abonnement {plan} — annuel",
           "overage": "Requêtes au-delà des {included} incluses"},
    "en": {"MONTH": "{plan} plan — monthly subscription", "YEAR": "{plan} plan — yearly subscription",
           "overage": "Requests above the {included} included"},
}


def monthly_fee(plan: Plan, period: Period) -> int:
    """A calendar month pays the monthly fee; a custom period pays it pro rata of 30-day months, like its quota."""
    if period.type == "monthly":
        return plan.monthly_fee_minor
    return round_half_up(Decimal(plan.monthly_fee_minor) * Decimal(period.days) / Decimal(30))


def lines_for(plan: Plan, interval: str, subscription_start: date, period: Period, requests: int,
              locale: str = "en-US") -> list[Line]:
    """The invoice lines, described in the customer's language (they are frozen with the invoice)."""
    words = DESCRIPTIONS["fr" if locale.startswith("fr") else "en"]
    lines: list[Line] = []
    if fee_due(interval, subscription_start, period):
        fee = plan.yearly_fee_minor if interval == "YEAR" else monthly_fee(plan, period)
        lines.append(Line("fee", words[interval].format(plan=plan.name), 1, Money(fee, plan.currency)))
    included = included_requests(plan, period)
    overage = max(0, requests - included)
    if overage and plan.overage_per_1000_minor:
        lines.append(Line("overage", words["overage"].format(included=format_number(included, locale)), overage,
                          Money(plan.overage_per_1000_minor, plan.currency), OVERAGE_BASE))
    return lines


def totals(lines: list[Line], currency: str, tax_rate: Decimal) -> Totals:
    """Tax is computed once on the subtotal (one rate per invoice for now), rounded half-up once."""
    subtotal = sum((line.amount for line in lines), Money.zero(currency))  # Money refuses a foreign line
    tax = Money(round_half_up(Decimal(subtotal.minor) * tax_rate), currency)
    return Totals(subtotal, tax_rate, tax, subtotal + tax)
