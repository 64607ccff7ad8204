"""Warm render of one issued invoice PDF through billing.services.invoices.document.render_pdf, against headless
Chromium printing the same HTML in the same run."""
from __future__ import annotations

import io
import os
import re
import time
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any, Callable

from .measure import figure, log, median, ms

RUNS, SMOKE_RUNS = 30, 3
CHROMIUM = "/usr/bin/chromium"  # Debian's: `playwright install` is never run
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


def _cpu(fn: Callable[[], Any]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def _pages(body: bytes) -> int:
    import pypdf  # a dev dependency: reads the page count of the very PDF we produced

    return len(pypdf.PdfReader(io.BytesIO(body)).pages)


def _margins(html: str) -> dict[str, str]:
    """The page margins our stylesheet asks for (@page { margin: top right bottom left }), for Chromium's page.pdf."""
    found = re.search(r"@page\s*{\s*size:\s*A4;\s*margin:\s*(\S+) (\S+) (\S+) (\S+?);", html)
    if found is None:
        raise ValueError("the invoice template's @page rule changed: update bench/render_pdf.py")
    return dict(zip(("top", "right", "bottom", "left"), found.groups()))


def _tree_cpu() -> float:
    """CPU seconds (user + system) used so far by this process's descendants: Playwright's driver and Chromium's
    browser, renderer and GPU processes. Linux /proc; 0 elsewhere."""
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        # After the command: state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based from state.
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = sum(int(f) for f in fields[11:15]) / ticks
    me, total = os.getpid(), 0.0
    for pid in cpu:
        ancestor = parents.get(pid)
        while ancestor and ancestor != me:
            ancestor = parents.get(ancestor)
        if ancestor == me:
            total += cpu[pid]
    return total


@contextmanager
def chromium():
    """One headless Chromium (Debian's) and one page, reused for every print, as the issue asks."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def run(smoke: bool) -> dict[str, Any]:
    import weasyprint

    from billing.einvoice import cii, embed
    from billing.ports import pdf
    from billing.services.invoices.document import render_context, render_pdf

    runs = SMOKE_RUNS if smoke else RUNS
    invoice, items = sample_invoice()
    context = render_context(invoice, items)
    html = pdf.render_html("invoice.html", context)  # what Chromium prints: exactly what our template produces
    margins = _margins(html)
    log(f"render_pdf: warm-up, then {runs} interleaved rounds: our issued-invoice render, Chromium printing the same "
        "HTML, and weasyprint's parts")

    with chromium() as page:
        def chromium_pdf() -> bytes:
            page.set_content(html)
            return page.pdf(format="A4", margin=margins, print_background=True)

        parts: dict[str, Callable[[], Any]] = {
            # What the worker stores: HTML, PDF/A-3b, CII XML checked against the XSD and embedded, Factur-X XMP.
            "invoice": lambda: render_pdf(invoice, items),
            "chromium": chromium_pdf,
            "html": lambda: pdf.render_html("invoice.html", render_context(invoice, items)),
            "weasyprint": lambda: pdf.html_to_pdf(html),  # the plain HTML -> PDF part, no PDF/A, no XML
            "pdf_a3": lambda: pdf.html_to_pdf(html, "pdf/a-3b"),
            "xml": lambda: embed.check_xsd(cii.invoice_xml(invoice, items, notes=[("PMD", "-")])),
            "minimal": lambda: weasyprint.HTML(string=MINIMAL_HTML).write_pdf(),
        }
        first = _time(parts["invoice"])  # warm-up: fonts, the template's compilation, weasyprint's own caches
        for fn in parts.values():
            fn()
        samples: dict[str, list[float]] = {name: [] for name in parts}
        for _ in range(runs):  # interleaved so all see the same machine state
            for name, fn in parts.items():
                samples[name].append(_time(fn))
        # CPU time, which other work on a shared machine inflates much less than wall time: ours in this process;
        # Chromium's in its processes (summed over the prints: /proc counts in clock ticks) plus Playwright's client.
        ours, plain, theirs_client, tree = [], [], [], _tree_cpu()
        for _ in range(runs):
            ours.append(_cpu(parts["invoice"]))
            plain.append(_cpu(parts["weasyprint"]))
            theirs_client.append(_cpu(chromium_pdf))
        chromium_cpu = (_tree_cpu() - tree) / runs + median(theirs_client)
        body, chromium_body = parts["invoice"](), chromium_pdf()

    med = {name: median(values) for name, values in samples.items()}
    result = figure("render_pdf", "ms", samples["invoice"],
                    "headless Chromium (Playwright, one browser and page reused): page.set_content + page.pdf(A4) "
                    "of the same HTML", samples["chromium"], ms(med["chromium"]))
    pages = _pages(body)
    result.update({
        "what": "render_pdf(invoice, items) of one issued invoice as the worker stores it (HTML + PDF/A-3b + "
                "Factur-X XML and XMP), warm",
        "target_what": "<= 1.0x the Chromium baseline of this run",
        "pages": pages,
        "chromium_pages": _pages(chromium_body),
        "pages_per_second": round(pages / med["invoice"], 2),
        "pdf_bytes": len(body),
        "chromium_pdf_bytes": len(chromium_body),
        "lines": len(items),
        "first_render_ms": ms(first),
        "cpu_ms": ms(median(ours)),  # CPU time of our render (median)
        "chromium_cpu_ms": ms(chromium_cpu),  # CPU time of Chromium's print, all its processes (mean) + client
        "cpu_ratio": round(median(ours) / chromium_cpu, 2) if chromium_cpu else None,
        "weasyprint_cpu_ms": ms(median(plain)),  # CPU time of the plain HTML -> PDF part
        # All the e-invoice adds (PDF/A-3b, CII XML + XSD, attachment, XMP), derived from CPU medians: the wall-time
        # difference below is too noisy on a shared machine to read alone.
        "facturx_cpu_ms": ms(median(ours) - median(plain) - med["html"]),
        # Where the time goes, each timed on its own in the same rounds (medians):
        "html_ms": round(med["html"] * 1000, 2),  # jinja2 and the formatting of the context
        "weasyprint_ms": ms(med["weasyprint"]),  # plain HTML -> PDF
        "weasyprint_ratio": round(med["weasyprint"] / med["chromium"], 2),
        "pdf_a3_ms": ms(med["pdf_a3"]),  # the same as a PDF/A-3b (sRGB output intent, XMP)
        "xml_ms": ms(med["xml"]),  # the CII XML built and checked against the Factur-X XSD
        "facturx_ms": ms(med["invoice"] - med["html"] - med["weasyprint"]),  # the same from wall medians
        "minimal_weasyprint_ms": ms(med["minimal"]),  # weasyprint's fixed cost: HTML(string="<p>x</p>").write_pdf()
        "weasyprint": weasyprint.__version__,
    })
    return result
