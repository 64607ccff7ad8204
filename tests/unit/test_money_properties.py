"""Properties of the money rules, for any amounts (hypothesis)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.domain import format as fmt
from billing.domain.credits import AvailableCredit, allocate
from billing.domain.money import MINOR_UNITS, Money
from billing.domain.period import Period
from billing.domain.pricing import Plan, Segment, lines_for_segments, totals

currencies = st.sampled_from(sorted(MINOR_UNITS))
rates = st.sampled_from([Decimal("0"), Decimal("0.055"), Decimal("0.10"), Decimal("0.20"), Decimal("0.077")])


@st.composite
def plans(draw, currency=None):
    currency = currency or draw(currencies)
    return Plan("P", "Plan", currency, draw(st.integers(0, 10**7)), draw(st.integers(0, 10**8)),
                draw(st.integers(0, 10**7)), draw(st.integers(0, 10**4)))


@settings(max_examples=300, deadline=None)
@given(plan=plans(), requests=st.integers(0, 10**9), rate=rates, cut=st.integers(2, 30))
def test_lines_add_up_to_the_subtotal_and_tax_is_within_half_a_minor_unit(plan, requests, rate, cut):
    october = Period.month(2026, 10)
    change = date(2026, 10, cut)
    segments = [Segment(plan, "MONTH", True, date(2026, 1, 1), change - timedelta(days=1)),
                Segment(plan, "MONTH", True, change)]
    lines = lines_for_segments(segments, october, requests)
    sums = totals(lines, plan.currency, rate)
    assert sums.subtotal.minor == sum(line.amount.minor for line in lines)
    assert abs(Decimal(sums.tax.minor) - Decimal(sums.subtotal.minor) * rate) <= Decimal("0.5")
    assert sums.total.minor == sums.subtotal.minor + sums.tax.minor
    # Two stretches of one plan over a whole month never charge more than one rounding above the monthly fee.
    fee = sum(line.amount.minor for line in lines if line.kind == "fee")
    assert abs(fee - plan.monthly_fee_minor) <= 1


@settings(max_examples=300, deadline=None)
@given(amounts=st.lists(st.tuples(st.integers(0, 10**6), st.one_of(st.none(), st.integers(-30, 30))), max_size=8),
       due=st.integers(0, 10**7))
def test_credits_never_make_the_amount_due_negative_and_skip_expired_ones(amounts, due):
    today = date(2026, 11, 21)
    credits = [AvailableCredit(str(i), amount, None if days is None else today + timedelta(days=days), i)
               for i, (amount, days) in enumerate(amounts)]
    applied = allocate(credits, due, today)
    used = sum(amount for _, amount in applied)
    assert 0 <= used <= due and due - used >= 0
    by_id = {c.id: c for c in credits}
    for credit_id, amount in applied:
        credit = by_id[credit_id]
        assert 0 < amount <= credit.remaining_minor
        assert credit.expires_on is None or credit.expires_on >= today
    usable = sum(c.remaining_minor for c in credits if c.expires_on is None or c.expires_on >= today)
    assert used == min(due, usable)


@given(minor=st.integers(-10**9, 10**9))
def test_jpy_has_no_decimals(minor):
    amount = Money(minor, "JPY")
    assert amount.as_decimal() == Decimal(minor)
    text = fmt.money(amount, "en-US")
    assert "." not in text


@given(minor=st.integers(0, 10**9), currency=currencies)
def test_money_round_trips_through_its_decimal(minor, currency):
    amount = Money(minor, currency)
    assert int(amount.as_decimal().scaleb(MINOR_UNITS[currency])) == minor
