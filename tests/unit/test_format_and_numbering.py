"""Locale-aware money display, and invoice / credit-note numbers INV-{year}-{000001}, AVO-{year}-{000001}."""
from __future__ import annotations

import pytest

from billing.domain.format import money, number
from billing.domain.money import Money
from billing.domain.numbering import format_number, is_number


def spaced(text: str) -> str:
    """babel uses (narrow) no-break spaces; compare with plain ones."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


# ---- money and quantities ------------------------------------------------------------------------------------

def test_eur_in_french_puts_a_decimal_comma_and_the_symbol_after():
    assert spaced(money(Money(1980, "EUR"), "fr-FR")) == "19,80 €"


def test_eur_in_us_english_puts_the_symbol_before_and_a_decimal_point():
    assert money(Money(1980, "EUR"), "en-US") == "€19.80"


def test_jpy_has_no_minor_digits_and_groups_thousands():
    assert money(Money(1980, "JPY"), "en-US") == "¥1,980"


def test_cents_below_ten_keep_two_digits():
    assert spaced(money(Money(5, "EUR"), "fr-FR")) == "0,05 €"


def test_quantities_group_thousands_per_locale():
    assert (spaced(number(2_000_000, "fr-FR")), number(2_000_000, "en-US")) == ("2 000 000", "2,000,000")


# ---- numbers -------------------------------------------------------------------------------------------------

def test_invoice_number_is_inv_year_and_six_zero_padded_digits():
    assert format_number("INV", 2026, 1) == "INV-2026-000001"


def test_credit_note_number_is_avo_year_and_six_zero_padded_digits():
    assert format_number("AVO", 2026, 42) == "AVO-2026-000042"


def test_a_seven_digit_value_is_written_in_full_and_is_still_a_number():
    text = format_number("INV", 2026, 1_234_567)
    assert text == "INV-2026-1234567"
    assert is_number(text)


@pytest.mark.parametrize("kind", ["FAC", "inv", "", "INVOICE"])
def test_an_unknown_document_kind_is_rejected(kind):
    with pytest.raises(ValueError):
        format_number(kind, 2026, 1)


@pytest.mark.parametrize("text", ["INV-2026-000001", "AVO-2031-999999", "INV-2026-0000001"])
def test_is_number_accepts_well_formed_numbers(text):
    assert is_number(text)


@pytest.mark.parametrize("text", [
    "INV-2026-00001",      # five digits
    "inv-2026-000001",     # lower case kind
    "FAC-2026-000001",     # unknown kind
    "INV-26-000001",       # two-digit year
    "INV2026000001",       # no dashes
    " INV-2026-000001",    # leading space
    "INV-2026-000001 ",    # trailing space
    "INV-2026-00000A",
    "",
])
def test_is_number_rejects_anything_else(text):
    assert not is_number(text)


def test_is_number_rejects_a_trailing_newline():
    assert not is_number("INV-2026-000001\n")


def test_the_seller_logo_from_configuration_is_inlined_in_the_document(tmp_path, monkeypatch):
    from datetime import date
    from decimal import Decimal

    from billing.config import settings
    from billing.ports.pdf import render_html
    from billing.services.invoices.document import render_context

    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    monkeypatch.setenv("SELLER_LOGO_PATH", str(logo))
    settings.cache_clear()
    try:
        invoice = {"locale": "fr-FR", "currency": "EUR", "status": "SENT", "issue_date": date(2026, 11, 1),
                   "due_date": date(2026, 12, 1), "period_start": date(2026, 10, 1), "period_end": date(2026, 10, 31),
                   "number": "INV-2026-000001", "seller": {"name": "TwinMCP SAS", "siren": "1", "vat_number": "FR1",
                   "address_line1": "a", "postal_code": "1", "city": "c", "country": "FR", "email": "e", "iban": "i"},
                   "buyer": {"name": "Acme", "address_line1": "a", "address_line2": None, "postal_code": "1",
                             "city": "c", "country": "FR", "email": "e", "siren": None, "vat_number": None}, "subtotal_minor": 0, "tax_rate": Decimal("0.2"), "tax_minor": 0,
                   "total_minor": 0}
        html = render_html("invoice.html", render_context(invoice, []))
    finally:
        monkeypatch.undo()
        settings.cache_clear()
    assert 'src="data:image/svg+xml;base64,' in html and 'alt="TwinMCP SAS"' in html
