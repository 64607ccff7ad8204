"""Warm render of one issued invoice PDF through billing.services.invoices.document.render_pdf."""
from __future__ import annotations

import io
import time
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any, Callable

from .measure import figure, log, median

RUNS, SMOKE_RUNS = 20, 3
MINIMAL_HTML = "<p>x</p>"


def sample_invoice() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An issued invoice shaped like invoices.get() + invoices.items() rows: Pro plan, October, with overage.

    Lines and totals come from the domain's own pricing, as generate_invoice computes them.
    """
    from billing.config import settings
    from billing.domain.numbering import format_number
    from billing.domain.period import Period
    from billing.domain.pricing import Plan, lines_for, totals

    locale, period = "fr-FR", Period.month(2026, 10)
    plan = Plan(code="pro", name="Pro", currency="EUR", monthly_fee_minor=4900, yearly_fee_minor=49000,
                included_requests=100_000, overage_per_1000_minor=40)
    lines = lines_for(plan, "MONTH", date(2026, 3, 14), period, 187_654, locale)
    sums = totals(lines, plan.currency, settings().tax_rate)
    items = [
        {"position": i, "kind": line.kind, "description": line.description, "quantity": line.quantity,
         "unit_price_minor": line.unit_price.minor, "base_quantity": line.base_quantity,
         "amount_minor": line.amount.minor}
        for i, line in enumerate(lines, start=1)
    ]
    invoice = {
        "id": "6f1c2e0a-4b7d-4e57-9a43-2d8b5c1f0e93", "user_id": "0b9e6c55-8a1f-4d2e-b3c4-7e6f5a4d3c2b",
        "number": format_number("INV", 2026, 42), "status": "SENT", "currency": plan.currency,
        "period_type": period.type, "period_start": period.start, "period_end": period.end,
        "issue_date": date(2026, 11, 1), "due_date": date(2026, 12, 1),
        "subtotal_minor": sums.subtotal.minor, "tax_rate": Decimal(sums.tax_rate), "tax_minor": sums.tax.minor,
        "total_minor": sums.total.minor, "notes": None, "send_requested": True, "locale": locale,
        "buyer": {"name": "Atelier Lumière SARL", "email": "compta@atelier-lumiere.example",
                  "address_line1": "8 quai Saint-Vincent", "address_line2": "Bâtiment B", "postal_code": "69001",
                  "city": "Lyon", "country": "FR", "vat_number": "FR61423456789", "siren": "423456789"},
        "seller": asdict(settings().seller),
        "pdf_key": None, "items": items,
    }
    return invoice, items


def _time(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _pages(body: bytes, html: str) -> int:
    try:
        import pypdf  # a dev dependency: reads the page count of the very PDF we produced
        return len(pypdf.PdfReader(io.BytesIO(body)).pages)
    except ImportError:
        import weasyprint
        return len(weasyprint.HTML(string=html).render().pages)


def run(smoke: bool) -> dict[str, Any]:
    import weasyprint

    from billing.ports import pdf
    from billing.services.invoices.document import render_context, render_pdf

    runs = SMOKE_RUNS if smoke else RUNS
    invoice, items = sample_invoice()
    log(f"render_pdf: warm-up, then {runs} interleaved renders of the invoice and of {MINIMAL_HTML}")

    def invoice_pdf() -> bytes:
        return render_pdf(invoice, items)

    def minimal_pdf() -> bytes:
        return weasyprint.HTML(string=MINIMAL_HTML).write_pdf()

    def html() -> str:
        return pdf.render_html("invoice.html", render_context(invoice, items))

    first = _time(invoice_pdf)  # warm-up: fonts, the template's compilation, weasyprint's own caches
    minimal_pdf()
    samples, baseline = [], []
    for _ in range(runs):  # interleaved so both see the same machine state
        samples.append(_time(invoice_pdf))
        baseline.append(_time(minimal_pdf))
    html_samples = [_time(html) for _ in range(runs)]
    body = invoice_pdf()
    pages = _pages(body, html())
    result = figure("render_pdf", "ms", samples, f"weasyprint.HTML(string='{MINIMAL_HTML}').write_pdf()",
                    baseline, None)
    result.update({
        "what": "render_pdf(invoice, items) of one issued invoice, warm (weasyprint imported, fonts loaded)",
        "pages": pages,
        "pages_per_second": round(pages / median(samples), 2),
        "pdf_bytes": len(body),
        "lines": len(items),
        "first_render_ms": round(first * 1000, 1),
        "html_ms": round(median(html_samples) * 1000, 2),  # jinja2 alone: the rest is weasyprint
        "weasyprint": weasyprint.__version__,
        "chromium_baseline": "not yet measured",
    })
    return result
