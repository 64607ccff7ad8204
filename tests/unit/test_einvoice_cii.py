"""The CII XML of invoices and credit notes: EN 16931 business terms from the frozen rows, XSD- and schematron-clean."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from billing.einvoice import cii
from billing.einvoice.validate import validate_xml

NS = cii.NS
SELLER = {"name": "TwinMCP SAS", "address_line1": "12 rue de la Paix", "postal_code": "75002", "city": "Paris",
          "country": "FR", "siren": "912345678", "vat_number": "FR32912345678", "email": "billing@twinmcp.example",
          "iban": "FR7630006000011234567890189", "logo_path": None}
BUYER_FR = {"name": "Acme SARL", "email": "compta@acme.example", "address_line1": "8 quai Saint-Antoine",
            "address_line2": None, "postal_code": "69002", "city": "Lyon", "country": "FR",
            "vat_number": "FR96552100554", "siren": "552100554"}
NOTES = [("PMD", "Pénalités de retard : trois fois le taux d'intérêt légal."), ("PMT", "Indemnité forfaitaire : 40 €.")]


def invoice_row(**overrides) -> dict:
    row = dict(id="9f0c", user_id="u", number="INV-2026-000042", status="SENT", currency="EUR",
               period_type="monthly", period_start=date(2026, 10, 1), period_end=date(2026, 10, 31),
               issue_date=date(2026, 11, 21), due_date=date(2026, 12, 21), subtotal_minor=1650,
               tax_rate=Decimal("0.20"), tax_minor=330, total_minor=1980, tax_category="S", tax_mention=None,
               credits_applied_minor=0, paid_minor=0, locale="fr-FR", seller=SELLER, buyer=BUYER_FR)
    row.update(overrides)
    return row


ITEMS = [
    {"position": 1, "kind": "fee", "description": "Abonnement Basic — mensuel", "quantity": 1,
     "unit_price_minor": 1500, "base_quantity": 1, "amount_minor": 1500},
    {"position": 2, "kind": "overage", "description": "Requêtes au-delà des 10 000 incluses", "quantity": 15000,
     "unit_price_minor": 10, "base_quantity": 1000, "amount_minor": 150},
]


def xpath(xml: bytes, path: str) -> list[str]:
    found = etree.fromstring(xml).xpath(path, namespaces=NS)
    return [f if isinstance(f, str) else (f.text or "") for f in found]


def one(xml: bytes, path: str) -> str:
    values = xpath(xml, path)
    assert len(values) == 1, (path, values)
    return values[0]


SUMS = "//ram:SpecifiedTradeSettlementHeaderMonetarySummation/"
BREAKDOWN = "//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/"


def test_a_french_b2b_invoice_carries_its_amounts_parties_dates_and_lines():
    xml = cii.invoice_xml(invoice_row(), ITEMS, NOTES)
    assert one(xml, "//rsm:ExchangedDocument/ram:ID") == "INV-2026-000042"
    assert one(xml, "//rsm:ExchangedDocument/ram:TypeCode") == "380"
    assert one(xml, "//ram:IssueDateTime/udt:DateTimeString") == "20261121"
    assert one(xml, "//ram:DueDateDateTime/udt:DateTimeString") == "20261221"
    assert xpath(xml, "//ram:BillingSpecifiedPeriod//udt:DateTimeString") == ["20261001", "20261031"]
    assert one(xml, "//ram:InvoiceCurrencyCode") == "EUR"
    assert [one(xml, SUMS + f"ram:{t}") for t in ("LineTotalAmount", "TaxBasisTotalAmount", "TaxTotalAmount",
                                                  "GrandTotalAmount", "DuePayableAmount")] == \
        ["16.50", "16.50", "3.30", "19.80", "19.80"]
    assert xpath(xml, SUMS + "ram:TotalPrepaidAmount") == []
    assert [one(xml, BREAKDOWN + f"ram:{t}") for t in ("CategoryCode", "RateApplicablePercent", "BasisAmount",
                                                       "CalculatedAmount")] == ["S", "20", "16.50", "3.30"]
    seller, buyer = "//ram:SellerTradeParty/", "//ram:BuyerTradeParty/"
    assert one(xml, seller + "ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") == "912345678"
    assert one(xml, seller + "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']") == "FR32912345678"
    assert one(xml, buyer + "ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']") == "552100554"
    assert one(xml, buyer + "ram:PostalTradeAddress/ram:CityName") == "Lyon"
    assert one(xml, "//ram:PayeePartyCreditorFinancialAccount/ram:IBANID") == "FR7630006000011234567890189"
    assert one(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "58"
    # The overage line is priced per 1,000 requests, as printed.
    line = "//ram:IncludedSupplyChainTradeLineItem[2]/"
    assert (one(xml, line + "/ram:BilledQuantity"), one(xml, line + "/ram:BilledQuantity/@unitCode"),
            one(xml, line + "/ram:ChargeAmount"), one(xml, line + "/ram:BasisQuantity"),
            one(xml, line + "/ram:LineTotalAmount")) == ("15000", "C62", "0.10", "1000", "1.50")
    assert xpath(xml, "//ram:IncludedNote/ram:SubjectCode") == ["PMD", "PMT"]


@pytest.mark.parametrize("category,mention,code", [
    ("AE", "Autoliquidation", "VATEX-EU-AE"),
    ("G", "VAT exempt — export of services outside the EU", "VATEX-EU-G"),
])
def test_reverse_charge_and_export_say_rate_zero_and_why(category, mention, code):
    buyer = {**BUYER_FR, "country": "DE" if category == "AE" else "US", "siren": None,
             "vat_number": "DE123456789" if category == "AE" else None}
    xml = cii.invoice_xml(invoice_row(tax_category=category, tax_rate=Decimal("0"), tax_minor=0, total_minor=1650,
                                      tax_mention=mention, buyer=buyer), ITEMS)
    assert [one(xml, BREAKDOWN + f"ram:{t}") for t in ("CategoryCode", "RateApplicablePercent", "CalculatedAmount",
                                                       "ExemptionReason", "ExemptionReasonCode")] == \
        [category, "0", "0.00", mention, code]
    assert set(xpath(xml, "//ram:SpecifiedLineTradeSettlement//ram:CategoryCode")) == {category}
    assert xpath(xml, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization") == []  # no SIREN outside France


def test_yen_amounts_have_no_decimals_and_a_non_euro_transfer_is_not_sepa():
    items = [{**ITEMS[0], "unit_price_minor": 1500, "amount_minor": 1500},
             {**ITEMS[1], "quantity": 15000, "unit_price_minor": 80, "amount_minor": 1200}]
    xml = cii.invoice_xml(invoice_row(currency="JPY", subtotal_minor=2700, tax_minor=0, total_minor=2700,
                                      tax_category="G", tax_rate=Decimal("0"), tax_mention="Export"), items)
    assert one(xml, SUMS + "ram:GrandTotalAmount") == "2700"
    assert one(xml, SUMS + "ram:TaxTotalAmount/@currencyID") == "JPY"
    assert one(xml, "//ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode") == "30"


def test_credits_applied_are_the_prepaid_amount_and_lower_the_amount_due():
    xml = cii.invoice_xml(invoice_row(credits_applied_minor=500), ITEMS)
    assert (one(xml, SUMS + "ram:TotalPrepaidAmount"), one(xml, SUMS + "ram:DuePayableAmount")) == ("5.00", "14.80")


def test_payments_received_after_issue_do_not_change_the_invoice():
    assert cii.invoice_xml(invoice_row(paid_minor=980, status="SENT"), ITEMS) == cii.invoice_xml(invoice_row(), ITEMS)


def test_a_credit_note_is_type_381_citing_the_invoice_it_cancels():
    note = {"id": "n", "number": "AVO-2026-000007", "currency": "EUR", "subtotal_minor": 833, "tax_minor": 167,
            "total_minor": 1000, "issue_date": date(2026, 11, 25)}
    xml = cii.credit_note_xml(invoice_row(), note, "Annulation de la facture INV-2026-000042")
    assert (one(xml, "//rsm:ExchangedDocument/ram:ID"), one(xml, "//rsm:ExchangedDocument/ram:TypeCode")) == \
        ("AVO-2026-000007", "381")
    assert one(xml, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "INV-2026-000042"
    assert one(xml, "//ram:InvoiceReferencedDocument//qdt:DateTimeString") == "20261121"
    assert [one(xml, SUMS + f"ram:{t}") for t in ("TaxBasisTotalAmount", "TaxTotalAmount", "GrandTotalAmount",
                                                  "DuePayableAmount")] == ["8.33", "1.67", "10.00", "10.00"]
    assert one(xml, "//ram:SpecifiedTradePaymentTerms/ram:Description") == \
        "Imputé sur le solde de la facture INV-2026-000042"
    assert xpath(xml, "//ram:SpecifiedTradeSettlementPaymentMeans") == []


def test_no_element_is_left_empty():
    xml = cii.invoice_xml(invoice_row(buyer={**BUYER_FR, "address_line2": "  ", "email": None}), ITEMS)
    assert xpath(xml, "//*[not(*) and not(normalize-space())]") == []


CASES = {
    "french-b2b": lambda: cii.invoice_xml(invoice_row(), ITEMS, NOTES),
    "reverse-charge": lambda: cii.invoice_xml(invoice_row(
        tax_category="AE", tax_rate=Decimal(0), tax_minor=0, total_minor=1650, tax_mention="Autoliquidation",
        buyer={**BUYER_FR, "country": "BE", "siren": None, "vat_number": "BE0123456789"}), ITEMS, NOTES),
    "export": lambda: cii.invoice_xml(invoice_row(
        tax_category="G", tax_rate=Decimal(0), tax_minor=0, total_minor=1650, tax_mention="Export",
        buyer={**BUYER_FR, "country": "US", "siren": None, "vat_number": None}), ITEMS),
    "credits": lambda: cii.invoice_xml(invoice_row(credits_applied_minor=1980), ITEMS),
    "credit-note": lambda: cii.credit_note_xml(invoice_row(), {
        "number": "AVO-2026-000007", "currency": "EUR", "subtotal_minor": 833, "tax_minor": 167,
        "total_minor": 1000, "issue_date": date(2026, 11, 25)}, "Annulation"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_case_passes_the_factur_x_xsd_and_en16931_schematron(case):
    findings, schematron = validate_xml(CASES[case]())
    assert schematron and schematron.startswith("FACTUR-X_EN16931.xslt")
    assert findings == []


def test_the_schematron_names_the_rules_a_wrong_document_breaks():
    xml = cii.invoice_xml(invoice_row(), ITEMS).replace(
        b"<ram:GrandTotalAmount>19.80<", b"<ram:GrandTotalAmount>19.81<").replace(
        b'unitCode="C62"', b'unitCode="NOPE"', 1)
    findings, _ = validate_xml(xml)
    assert {f.rule for f in findings if f.severity == "error"} >= {"BR-CO-15", "BR-CO-16"}
    assert any(f.rule.startswith("FX-SCH-A-") and "unitCode" in f.message for f in findings)  # the code lists
    assert all(f.location.startswith("/CrossIndustryInvoice") for f in findings)


def test_an_xml_that_breaks_the_xsd_is_reported_as_xsd_without_running_the_schematron():
    xml = cii.invoice_xml(invoice_row(), ITEMS).replace(b"<ram:TypeCode>380</ram:TypeCode>", b"")
    findings, schematron = validate_xml(xml)
    assert schematron is None and findings and {f.rule for f in findings} == {"XSD"}
