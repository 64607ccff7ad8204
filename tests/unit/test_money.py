"""Money: integer minor units of a known currency, same-currency arithmetic, one half-up rounding rule."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from billing.domain.money import Money, minor_units, round_half_up


def test_money_keeps_integer_minor_units_and_currency():
    amount = Money(1980, "EUR")
    assert (amount.minor, amount.currency) == (1980, "EUR")


@pytest.mark.parametrize("minor", [19.8, 1980.0, Decimal("1980"), "1980", None],
                         ids=["float", "whole-float", "decimal", "str", "none"])
def test_money_rejects_a_minor_amount_that_is_not_an_int(minor):
    with pytest.raises(TypeError):
        Money(minor, "EUR")


@pytest.mark.parametrize("minor", [True, False])
def test_money_rejects_a_bool_minor_amount(minor):
    with pytest.raises(TypeError):
        Money(minor, "EUR")


@pytest.mark.parametrize("currency", ["XXX", "eur", "", "EURO"])
def test_money_rejects_an_unknown_currency(currency):
    with pytest.raises(ValueError):
        Money(100, currency)


def test_money_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Money(100, "EUR").minor = 200  # type: ignore[misc]


def test_adding_two_amounts_of_one_currency_adds_their_minor_units():
    assert Money(900, "EUR") + Money(750, "EUR") == Money(1650, "EUR")


def test_subtracting_two_amounts_of_one_currency_may_go_negative():
    assert Money(900, "EUR") - Money(1000, "EUR") == Money(-100, "EUR")


def test_adding_amounts_in_different_currencies_raises():
    with pytest.raises(ValueError):
        Money(100, "EUR") + Money(100, "USD")


def test_subtracting_amounts_in_different_currencies_raises():
    with pytest.raises(ValueError):
        Money(100, "JPY") - Money(100, "EUR")


def test_zero_is_zero_minor_units_in_the_given_currency():
    assert Money.zero("JPY") == Money(0, "JPY")


@pytest.mark.parametrize(("value", "expected"), [
    (Decimal("2.5"), 3),
    (Decimal("2.4999"), 2),
    (Decimal("-2.5"), -3),
    (Decimal("0.5"), 1),
    (Decimal("1.5"), 2),
    (Decimal("3.5"), 4),
    (Decimal("-2.4999"), -2),
    (Decimal("0.05"), 0),
    (Decimal("7"), 7),
])
def test_round_half_up_rounds_halves_away_from_zero(value, expected):
    assert round_half_up(value) == expected


def test_round_half_up_returns_an_int():
    assert type(round_half_up(Decimal("2.5"))) is int


@pytest.mark.parametrize(("currency", "digits"), [("EUR", 2), ("USD", 2), ("GBP", 2), ("CHF", 2), ("JPY", 0)])
def test_minor_units_follow_iso_4217(currency, digits):
    assert minor_units(currency) == digits


def test_minor_units_of_an_unknown_currency_raises():
    with pytest.raises(ValueError):
        minor_units("XYZ")


@pytest.mark.parametrize(("amount", "expected"), [
    (Money(1980, "EUR"), "19.80"),
    (Money(5, "EUR"), "0.05"),
    (Money(-5, "EUR"), "-0.05"),
    (Money(1980, "JPY"), "1980"),
])
def test_as_decimal_expresses_minor_units_in_major_units_with_the_currency_digits(amount, expected):
    value = amount.as_decimal()
    assert value == Decimal(expected)
    assert value.as_tuple().exponent == Decimal(expected).as_tuple().exponent


def test_amounts_in_different_currencies_cannot_be_ordered():
    with pytest.raises(TypeError):
        Money(1, "USD") < Money(2, "EUR")  # noqa: B015 - the comparison itself is the test
