"""Invoice lines and totals: fee per interval, overage per 1,000 requests above the quota, VAT on the subtotal."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.domain.money import Money
from billing.domain.period import Period
from billing.domain.pricing import Line, Plan, included_requests, lines_for, totals

# The tiers of DESIGN.md "Money and invoices", in EUR cents.
FREE = Plan("FREE", "Free", "EUR", 0, 0, 1_000, 0)
BASIC = Plan("BASIC", "Basic", "EUR", 900, 9_000, 10_000, 50)
PREMIUM = Plan("PREMIUM", "Premium", "EUR", 4_900, 49_000, 100_000, 30)
ENTERPRISE = Plan("ENTERPRISE", "Enterprise", "EUR", 49_900, 499_000, 2_000_000, 10)

VAT = Decimal("0.20")
OCTOBER_2026 = Period.month(2026, 10)
SUBSCRIBED = date(2026, 1, 1)


def spaced(text: str) -> str:
    """babel separates thousands with (narrow) no-break spaces in French."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def by_kind(lines: list[Line]) -> dict[str, Line]:
    kinds = [line.kind for line in lines]
    assert len(kinds) == len(set(kinds)), f"one line per kind expected, got {kinds}"
    return {line.kind: line for line in lines}


def custom(start: date, end: date) -> Period:
    return Period("custom", start, end)


# ---- the worked example ------------------------------------------------------------------------------------

def test_basic_monthly_october_with_25000_requests_is_900_fee_plus_750_overage():
    lines = by_kind(lines_for(BASIC, "MONTH", SUBSCRIBED, OCTOBER_2026, 25_000))
    assert set(lines) == {"fee", "overage"}
    assert (lines["fee"].quantity, lines["fee"].amount) == (1, Money(900, "EUR"))
    # 25,000 - 10,000 included = 15,000 requests at 50 cents per 1,000 = 750 cents.
    overage = lines["overage"]
    assert (overage.quantity, overage.unit_price, overage.base_quantity) == (15_000, Money(50, "EUR"), 1_000)
    assert overage.amount == Money(750, "EUR")


def test_basic_monthly_october_with_25000_requests_totals_1980_with_20_percent_vat():
    sums = totals(lines_for(BASIC, "MONTH", SUBSCRIBED, OCTOBER_2026, 25_000), "EUR", VAT)
    assert sums.subtotal == Money(1_650, "EUR")
    assert sums.tax_rate == VAT
    assert sums.tax == Money(330, "EUR")  # 1650 x 0.20
    assert sums.total == Money(1_980, "EUR")


# ---- overage ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("plan", "requests", "expected_cents"), [
    (BASIC, 10_001, 0),         # 1 over x 50 / 1000 = 0.05
    (BASIC, 10_010, 1),         # 10 x 50 / 1000 = 0.5 -> 1
    (BASIC, 10_029, 1),         # 1.45 -> 1: rounded once, never 1.45 -> 1.5 -> 2
    (BASIC, 10_030, 2),         # 1.5 -> 2
    (BASIC, 10_050, 3),         # 2.5 -> 3 (half-up, not half-even)
    (PREMIUM, 100_010, 0),      # 10 x 30 / 1000 = 0.3
    (PREMIUM, 100_017, 1),      # 0.51 -> 1
    (PREMIUM, 150_000, 1_500),  # 50,000 x 30 / 1000
    (ENTERPRISE, 2_000_050, 1),  # 50 x 10 / 1000 = 0.5 -> 1
])
def test_overage_is_rounded_half_up_once_per_line(plan, requests, expected_cents):
    overage = by_kind(lines_for(plan, "MONTH", SUBSCRIBED, OCTOBER_2026, requests))["overage"]
    assert overage.quantity == requests - plan.included_requests
    assert overage.amount == Money(expected_cents, "EUR")


@pytest.mark.parametrize("requests", [0, 9_999, 10_000])
def test_no_overage_line_at_or_below_the_included_quota(requests):
    lines = lines_for(BASIC, "MONTH", SUBSCRIBED, OCTOBER_2026, requests)
    assert [line.kind for line in lines] == ["fee"]


@pytest.mark.parametrize("requests", [0, 1_000, 1_001, 5_000_000])
def test_free_plan_never_has_an_overage_line_and_costs_nothing(requests):
    lines = lines_for(FREE, "MONTH", SUBSCRIBED, OCTOBER_2026, requests)
    assert "overage" not in [line.kind for line in lines]
    assert totals(lines, "EUR", VAT).total == Money(0, "EUR")


# ---- fees per interval --------------------------------------------------------------------------------------

@pytest.mark.parametrize("period", [Period.month(2026, 1), Period.month(2026, 10), Period.month(2027, 6)])
def test_monthly_interval_bills_the_monthly_fee_every_period(period):
    fee = by_kind(lines_for(BASIC, "MONTH", SUBSCRIBED, period, 0))["fee"]
    assert fee.amount == Money(900, "EUR")


YEARLY_START = date(2026, 3, 10)


@pytest.mark.parametrize("period", [
    Period.month(2026, 3),                               # the subscription's own month
    Period.month(2027, 3),                               # its anniversary
    custom(date(2027, 2, 20), date(2027, 3, 5)),         # touches March
    custom(date(2026, 4, 1), date(2027, 3, 31)),         # a year that ends in March
], ids=["start-month", "anniversary", "custom-touching-march", "custom-year-ending-in-march"])
def test_yearly_interval_bills_one_yearly_fee_in_a_period_touching_the_start_month(period):
    lines = lines_for(BASIC, "YEAR", YEARLY_START, period, 0)
    fees = [line for line in lines if line.kind == "fee"]
    assert [fee.amount for fee in fees] == [Money(9_000, "EUR")]


@pytest.mark.parametrize("period", [
    Period.month(2026, 4),
    Period.month(2027, 2),
    custom(date(2027, 1, 1), date(2027, 2, 28)),
    custom(date(2027, 4, 1), date(2027, 4, 15)),
])
def test_yearly_interval_bills_no_fee_in_a_period_not_touching_the_start_month(period):
    lines = lines_for(BASIC, "YEAR", YEARLY_START, period, 0)
    # Nothing to bill: one zero line says so (an invoice always has a line, EN 16931 BR-16).
    assert [(line.kind, line.amount) for line in lines] == [("fee", Money(0, "EUR"))]
    assert "nothing to bill" in lines[0].description


def test_yearly_interval_finds_the_start_month_across_a_year_boundary():
    lines = lines_for(BASIC, "YEAR", date(2025, 1, 20), custom(date(2026, 12, 15), date(2027, 1, 14)), 0)
    assert [line.amount for line in lines if line.kind == "fee"] == [Money(9_000, "EUR")]


def test_yearly_interval_still_bills_overage_in_a_month_without_a_fee():
    lines = lines_for(BASIC, "YEAR", YEARLY_START, Period.month(2026, 10), 25_000)
    assert [(line.kind, line.amount) for line in lines] == [("overage", Money(750, "EUR"))]


# ---- quota for custom periods --------------------------------------------------------------------------------

@pytest.mark.parametrize(("plan", "period", "expected"), [
    (BASIC, Period.month(2026, 10), 10_000),                        # monthly: the whole quota, whatever its length
    (BASIC, Period.month(2026, 2), 10_000),
    (BASIC, custom(date(2026, 10, 1), date(2026, 10, 30)), 10_000),  # 30 days = one 30-day month
    (BASIC, custom(date(2026, 10, 1), date(2026, 10, 15)), 5_000),   # 10,000 x 15 / 30
    (BASIC, custom(date(2026, 10, 1), date(2026, 10, 31)), 10_333),  # 10,333.33 -> 10,333
    (ENTERPRISE, custom(date(2026, 10, 1), date(2026, 10, 1)), 66_667),  # 66,666.67 -> 66,667
    (Plan("TINY", "Tiny", "EUR", 0, 0, 45, 0), custom(date(2026, 10, 1), date(2026, 10, 1)), 2),  # 1.5 -> 2
])
def test_custom_period_quota_is_pro_rata_of_30_day_months_rounded_half_up(plan, period, expected):
    assert included_requests(plan, period) == expected


def test_custom_period_overage_counts_from_the_pro_rata_quota():
    period = custom(date(2026, 10, 1), date(2026, 10, 15))  # 5,000 included
    overage = by_kind(lines_for(BASIC, "MONTH", SUBSCRIBED, period, 6_000))["overage"]
    assert (overage.quantity, overage.amount) == (1_000, Money(50, "EUR"))


# ---- tax and totals ------------------------------------------------------------------------------------------

def fee(minor: int, currency: str = "EUR") -> Line:
    return Line("fee", "fee", 1, Money(minor, currency))


def test_tax_is_rounded_once_on_the_subtotal_not_per_line():
    # Per line, 5 x 10 % = 0.5 -> 1 twice would give 2; on the subtotal, 10 x 10 % = 1.
    sums = totals([fee(5), fee(5)], "EUR", Decimal("0.10"))
    assert (sums.subtotal, sums.tax, sums.total) == (Money(10, "EUR"), Money(1, "EUR"), Money(11, "EUR"))


@pytest.mark.parametrize(("subtotal", "rate", "expected_tax"), [
    (10, Decimal("0.25"), 3),       # 2.5 -> 3 (half-up, not half-even)
    (1_650, Decimal("0.055"), 91),  # 90.75 -> 91
    (1_001, Decimal("0.20"), 200),  # 200.2 -> 200
])
def test_tax_is_rounded_half_up(subtotal, rate, expected_tax):
    sums = totals([fee(subtotal)], "EUR", rate)
    assert sums.tax == Money(expected_tax, "EUR")
    assert sums.total == Money(subtotal + expected_tax, "EUR")


def test_zero_tax_rate_reverse_charge_makes_total_equal_subtotal():
    sums = totals([fee(1_650)], "EUR", Decimal("0"))
    assert (sums.tax, sums.total) == (Money(0, "EUR"), Money(1_650, "EUR"))


def test_totals_of_no_lines_are_zero_in_the_invoice_currency():
    sums = totals([], "JPY", VAT)
    assert (sums.subtotal, sums.tax, sums.total) == (Money(0, "JPY"), Money(0, "JPY"), Money(0, "JPY"))


def test_totals_refuse_lines_in_another_currency_than_the_invoice():
    with pytest.raises(ValueError):
        totals([fee(1_980, "JPY")], "EUR", VAT)


def test_totals_refuse_lines_mixing_currencies():
    with pytest.raises(ValueError):
        totals([fee(900, "EUR"), fee(900, "USD")], "EUR", VAT)


# ---- descriptions in the customer's language -----------------------------------------------------------------

def test_french_customer_gets_french_line_descriptions():
    lines = by_kind(lines_for(BASIC, "MONTH", SUBSCRIBED, OCTOBER_2026, 25_000, "fr-FR"))
    assert "Abonnement" in lines["fee"].description and "mensuel" in lines["fee"].description
    assert "Basic" in lines["fee"].description
    assert "Requêtes" in lines["overage"].description
    assert "10 000" in spaced(lines["overage"].description)  # French thousands separator


def test_english_customer_gets_english_line_descriptions():
    lines = by_kind(lines_for(BASIC, "MONTH", SUBSCRIBED, OCTOBER_2026, 25_000, "en-US"))
    assert "Basic" in lines["fee"].description and "monthly" in lines["fee"].description
    assert "Requests" in lines["overage"].description
    assert "10,000" in lines["overage"].description


def test_yearly_fee_description_names_the_yearly_interval_in_each_language():
    fr = lines_for(BASIC, "YEAR", YEARLY_START, Period.month(2027, 3), 0, "fr-FR")[0].description
    en = lines_for(BASIC, "YEAR", YEARLY_START, Period.month(2027, 3), 0, "en-US")[0].description
    assert "annuel" in fr and "mensuel" not in fr
    assert "yearly" in en and "monthly" not in en


def test_descriptions_default_to_english():
    lines = lines_for(BASIC, "MONTH", SUBSCRIBED, OCTOBER_2026, 0)
    assert lines[0].description == lines_for(BASIC, "MONTH", SUBSCRIBED, OCTOBER_2026, 0, "en-US")[0].description


def test_line_amounts_do_not_depend_on_the_locale():
    fr = lines_for(PREMIUM, "MONTH", SUBSCRIBED, OCTOBER_2026, 123_456, "fr-FR")
    en = lines_for(PREMIUM, "MONTH", SUBSCRIBED, OCTOBER_2026, 123_456, "en-US")
    assert [(line.kind, line.amount) for line in fr] == [(line.kind, line.amount) for line in en]
