"""The stored PDF of an issued document: Factur-X when EINVOICE_PROFILE=en16931, a plain PDF when it is none."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from billing.config import settings
from billing.ports import pdf

logger = Logger(child=True)


def invoice_pdf(html: str, invoice: dict[str, Any], items: list[dict[str, Any]], labels: dict[str, str]) -> bytes:
    """`labels` are the ones the PDF printed: its legal notes go into the XML word for word."""
    if settings().einvoice_profile == "none":
        return pdf.html_to_pdf(html)
    if not items:
        # EN 16931 has no invoice without a line (BR-16): e.g. a yearly plan's month with no fee and no overage.
        logger.warning("invoice with no line stored as a plain PDF, not an e-invoice",
                       extra={"invoice_id": invoice.get("id"), "number": invoice["number"]})
        return pdf.html_to_pdf(html)
    from . import cii  # lxml: imported when a document is issued, not at every cold start

    xml = cii.invoice_xml(invoice, items, notes=_notes(labels))
    return _hybrid(html, xml, invoice, invoice["number"], labels["title"])


def credit_note_pdf(html: str, invoice: dict[str, Any], note: dict[str, Any], labels: dict[str, str]) -> bytes:
    if settings().einvoice_profile == "none":
        return pdf.html_to_pdf(html)
    from . import cii

    line = labels["cancellation"].format(number=invoice["number"])
    xml = cii.credit_note_xml(invoice, note, line, notes=_notes(labels))
    return _hybrid(html, xml, invoice, note["number"], labels["credit_note"])


def _hybrid(html: str, xml: bytes, invoice: dict[str, Any], number: str, title: str) -> bytes:
    from .embed import facturx_pdf

    seller = invoice["seller"]["name"]
    return facturx_pdf(html, xml, title=f"{seller}: {title} {number}", author=seller,
                       subject=f"Factur-X {title} {number}", lang=invoice["locale"])


def _notes(labels: dict[str, str]) -> list[tuple[str, str]]:
    # UNTDID 4451: PMD late-payment penalties, PMT the fixed recovery indemnity.
    return [("PMD", labels["penalties"]), ("PMT", labels["indemnity"])]
