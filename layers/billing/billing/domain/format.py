"""Locale-aware display of money, dates and quantities (babel); used by PDFs and e-mails."""
from __future__ import annotations

from datetime import date

from babel.dates import format_date as _format_date
from babel.numbers import format_currency, format_decimal

from .money import Money


def babel_locale(locale: str) -> str:
    return locale.replace("-", "_")


def money(amount: Money, locale: str) -> str:
    """19,80 € for fr-FR, €19.80 for en-US; babel knows each currency's digits (JPY has none)."""
    return format_currency(amount.as_decimal(), amount.currency, locale=babel_locale(locale))


def day(value: date, locale: str) -> str:
    return _format_date(value, format="long", locale=babel_locale(locale))


def number(value: int, locale: str) -> str:
    return format_decimal(value, locale=babel_locale(locale))
