"""Response models: a page of invoices serialised around items already serialised (the list cache's text)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from billing.api.models import InvoiceOut, InvoicePage


def invoice_row(n: int, **overrides) -> dict:
    at = datetime(2026, 11, 1, 8, n, tzinfo=timezone.utc)
    row = dict(
        id=f"00000000-0000-4000-8000-{n:012d}", user_id="00000000-0000-4000-8000-0000000000aa", number=f"INV-2026-{n:06d}",
        status="SENT", currency="EUR", period_type="monthly", period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31), issue_date=date(2026, 11, 1), due_date=date(2026, 12, 1),
        subtotal_minor=1650 + n, tax_rate=Decimal("0.2000"), tax_minor=330, total_minor=1980 + n, notes=None,
        send_requested=False, buyer={"enc": "enc:v1:sealed"}, pdf_key=f"invoices/u/{n}.pdf", pdf_size=41_234,
        pdf_sha256="ab" * 32, pdf_etag='"e"', document_recorded_at=at, emailed_at=None, created_at=at, updated_at=at,
        tax_category="S", tax_mention=None, credits_applied_minor=0, paid_minor=0,
    )
    row.update(overrides)
    return row


def test_a_page_around_serialised_items_is_the_same_text_as_the_model_serialises():
    rows = [invoice_row(1), invoice_row(2, pdf_key=None, notes="Réglé « à réception » \u2014 \"merci\"\n",
                                         tax_rate=Decimal("0E-4"), tax_category="AE", currency="JPY",
                                         tax_mention="Autoliquidation", emailed_at=datetime(2026, 11, 2, tzinfo=timezone.utc)),
            invoice_row(3, status="PAID", paid_minor=1983, credits_applied_minor=500)]
    for items, cursor in ((rows, "MjAyNi0xMS0wMVQwODowMzowMCswMDowMHwwMDA"), (rows[:1], None), ([], None)):
        expected = InvoicePage(items=[InvoiceOut.from_row(r) for r in items], next_cursor=cursor)
        assert InvoicePage.page_json(InvoicePage.items_json(items), cursor) == expected.model_dump_json(by_alias=True)


def test_serialised_items_hold_no_buyer():
    assert "sealed" not in InvoicePage.items_json([invoice_row(1)])
