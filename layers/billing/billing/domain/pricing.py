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
           "overage": "Requêtes au-delà des {included} incluses", "span": " (du {start} au {end})",
           "nothing": "Abonnement {plan} — rien à facturer sur la période"},
    "en": {"MONTH": "{plan} plan — monthly subscription", "YEAR": "{plan} plan — yearly subscription",
           "overage": "Requests above the {included} included", "span": " ({start} to {end})",
           "nothing": "{plan} plan — nothing to bill for the period"},
}


@dataclass(frozen=True)
class Segment:
    """One stretch of a customer's subscription: a plan, an interval, and whether it pays its fee."""
    plan: Plan
    interval: str
    billable: bool  # False while PAUSED
    started_on: date  # when this stretch began (a yearly fee recurs from here)
    ended_on: date | None = None


def lines_for_segments(segments: list[Segment], period: Period, requests: int, locale: str = "en-US") -> list[Line]:
    """A fee line per billable stretch, prorated by day when it covers part of the period; then overage at
    the plan in force at the end of the period, against its (monthly) quota."""
    from .format import day

    words = DESCRIPTIONS["fr" if locale.startswith("fr") else "en"]
    lines: list[Line] = []
    base_days = period.days if period.type == "monthly" else 30
    for segment in segments:
        start = max(segment.started_on, period.start)
        end = min(segment.ended_on or period.end, period.end)
        if not segment.billable or end < start:
            continue
        covered = Period("custom", start, end)
        label = words[segment.interval].format(plan=segment.plan.name)
        if (start, end) != (period.start, period.end):
            label += words["span"].format(start=day(start, locale), end=day(end, locale))
        if segment.interval == "YEAR":
            if fee_due("YEAR", segment.started_on, covered):
                lines.append(Line("fee", label, 1, Money(segment.plan.yearly_fee_minor, segment.plan.currency)))
            continue
        fee = round_half_up(Decimal(segment.plan.monthly_fee_minor) * Decimal(covered.days) / Decimal(base_days))
        lines.append(Line("fee", label, 1, Money(fee, segment.plan.currency)))
    if segments:
        plan = segments[-1].plan
        included = included_requests(plan, period)
        overage = max(0, requests - included)
        if overage and plan.overage_per_1000_minor:
            lines.append(Line("overage", words["overage"].format(included=format_number(included, locale)),
                              overage, Money(plan.overage_per_1000_minor, plan.currency), OVERAGE_BASE))
        if not lines:
            # An invoice has at least one line (EN 16931 BR-16): say plainly that nothing is due this time.
            lines.append(Line("fee", words["nothing"].format(plan=plan.name), 1, Money(0, plan.currency)))
    return lines


def lines_for(plan: Plan, interval: str, subscription_start: date, period: Period, requests: int,
              locale: str = "en-US") -> list[Line]:
    """The lines of one uninterrupted subscription that began on subscription_start."""
    return lines_for_segments([Segment(plan, interval, True, subscription_start)], period, requests, locale)


def totals(lines: list[Line], currency: str, tax_rate: Decimal) -> Totals:
    """Tax is computed once on the subtotal (one rate per invoice for now), rounded half-up once."""
    subtotal = sum((line.amount for line in lines), Money.zero(currency))  # Money refuses a foreign line
    tax = Money(round_half_up(Decimal(subtotal.minor) * tax_rate), currency)
    return Totals(subtotal, tax_rate, tax, subtotal + tax)
