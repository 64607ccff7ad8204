"""The CII XML (UN/CEFACT Cross Industry Invoice, EN 16931 profile) of an issued invoice or credit note."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Iterable, NamedTuple

from lxml import etree

from billing.domain.money import Money

GUIDELINE = "urn:cen.eu:en16931:2017"  # the Factur-X "EN 16931" (Comfort) profile
NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
INVOICE, CREDIT_NOTE = "380", "381"  # UNTDID 1001
UNIT = "C62"  # UN/ECE rec. 20 "one": a subscription, a request
SIREN_SCHEME = "0002"  # ISO 6523 ICD of the French SIRENE register
# VAT exemption reason codes (VATEX) of the categories that charge no VAT.
EXEMPTION_CODES = {"AE": "VATEX-EU-AE", "G": "VATEX-EU-G"}
SET_OFF = {"fr": "Imputé sur le solde de la facture {number}", "en": "Offsets the balance of invoice {number}"}


def invoice_xml(invoice: dict[str, Any], items: list[dict[str, Any]], notes: Iterable[tuple[str, str]] = ()) -> bytes:
    """BT numbers refer to EN 16931-1. `notes` are (UNTDID 4451 subject code, text) pairs printed on the PDF."""
    currency = invoice["currency"]
    credits = invoice.get("credits_applied_minor") or 0
    lines = [
        _Line(str(it["position"]), it["description"], it["quantity"], it["unit_price_minor"], it["base_quantity"],
              it["amount_minor"])
        for it in items
    ]
    return _document(
        type_code=INVOICE, number=invoice["number"], issue_date=invoice["issue_date"], invoice=invoice,
        lines=lines, subtotal=invoice["subtotal_minor"], tax=invoice["tax_minor"], total=invoice["total_minor"],
        prepaid=credits, due_date=invoice["due_date"], terms=None, payment=True, notes=notes, currency=currency,
        preceding=None,
    )


def credit_note_xml(invoice: dict[str, Any], note: dict[str, Any], line_description: str,
                    notes: Iterable[tuple[str, str]] = ()) -> bytes:
    """A credit note (type 381) with the one line that cancels what remained due on `invoice`, which it cites."""
    terms = SET_OFF[_language(invoice)].format(number=invoice["number"])
    lines = [_Line("1", line_description, 1, note["subtotal_minor"], 1, note["subtotal_minor"])]
    return _document(
        type_code=CREDIT_NOTE, number=note["number"], issue_date=note["issue_date"], invoice=invoice, lines=lines,
        subtotal=note["subtotal_minor"], tax=note["tax_minor"], total=note["total_minor"], prepaid=0,
        due_date=None, terms=terms, payment=False, notes=notes, currency=note["currency"],
        preceding=(invoice["number"], invoice["issue_date"]),
    )


class _Line(NamedTuple):
    id: str
    name: str
    quantity: int
    unit_price: int  # minor units, the price of base_quantity units
    base_quantity: int
    amount: int  # minor units


def _document(*, type_code: str, number: str, issue_date: date, invoice: dict[str, Any], lines: list[_Line],
              subtotal: int, tax: int, total: int, prepaid: int, due_date: date | None, terms: str | None,
              payment: bool, notes: Iterable[tuple[str, str]], currency: str,
              preceding: tuple[str, date] | None) -> bytes:
    category = invoice.get("tax_category") or "S"
    rate = _rate(invoice["tax_rate"]) if category == "S" else "0"
    seller, buyer = invoice["seller"], invoice["buyer"]

    def amount(minor: int) -> str:
        return f"{Money(minor, currency).as_decimal():f}"

    root = etree.Element(_tag("rsm:CrossIndustryInvoice"), nsmap=NS)
    context = _el(root, "rsm:ExchangedDocumentContext")
    _el(_el(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", GUIDELINE)

    header = _el(root, "rsm:ExchangedDocument")
    _el(header, "ram:ID", number)  # BT-1
    _el(header, "ram:TypeCode", type_code)  # BT-3
    _date(_el(header, "ram:IssueDateTime"), issue_date)  # BT-2
    for subject, text in notes:  # BG-1
        note = _el(header, "ram:IncludedNote")
        _el(note, "ram:Content", text)
        _el(note, "ram:SubjectCode", subject)

    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for line in lines:  # BG-25
        item = _el(transaction, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", line.id)  # BT-126
        _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.name)  # BT-153
        price = _el(_el(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
        _el(price, "ram:ChargeAmount", amount(line.unit_price))  # BT-146
        if line.base_quantity != 1:
            _el(price, "ram:BasisQuantity", str(line.base_quantity), unitCode=UNIT)  # BT-149, BT-150
        _el(_el(item, "ram:SpecifiedLineTradeDelivery"), "ram:BilledQuantity", str(line.quantity),
            unitCode=UNIT)  # BT-129, BT-130
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        line_tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(line_tax, "ram:TypeCode", "VAT")
        _el(line_tax, "ram:CategoryCode", category)  # BT-151
        _el(line_tax, "ram:RateApplicablePercent", rate)  # BT-152
        _el(_el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation"), "ram:LineTotalAmount",
            amount(line.amount))  # BT-131

    agreement = _el(transaction, "ram:ApplicableHeaderTradeAgreement")
    _party(agreement, "ram:SellerTradeParty", seller)  # BG-4
    _party(agreement, "ram:BuyerTradeParty", buyer)  # BG-7

    # A continuous service is supplied when its period ends (BT-72).
    delivery = _el(transaction, "ram:ApplicableHeaderTradeDelivery")
    _date(_el(_el(delivery, "ram:ActualDeliverySupplyChainEvent"), "ram:OccurrenceDateTime"), invoice["period_end"])

    settlement = _el(transaction, "ram:ApplicableHeaderTradeSettlement")
    if payment:
        _el(settlement, "ram:PaymentReference", number)  # BT-83
    _el(settlement, "ram:InvoiceCurrencyCode", currency)  # BT-5
    if payment and seller.get("iban"):  # BG-16
        means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _el(means, "ram:TypeCode", "58" if currency == "EUR" else "30")  # SEPA credit transfer, else credit transfer
        _el(_el(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", seller["iban"].replace(" ", ""))
    breakdown = _el(settlement, "ram:ApplicableTradeTax")  # BG-23: one category per invoice
    _el(breakdown, "ram:CalculatedAmount", amount(tax))  # BT-117
    _el(breakdown, "ram:TypeCode", "VAT")
    if category in EXEMPTION_CODES:
        _optional(breakdown, "ram:ExemptionReason", invoice.get("tax_mention"))  # BT-120, as printed
    _el(breakdown, "ram:BasisAmount", amount(subtotal))  # BT-116
    _el(breakdown, "ram:CategoryCode", category)  # BT-118
    if category in EXEMPTION_CODES:
        _el(breakdown, "ram:ExemptionReasonCode", EXEMPTION_CODES[category])  # BT-121
    _el(breakdown, "ram:RateApplicablePercent", rate)  # BT-119
    period = _el(settlement, "ram:BillingSpecifiedPeriod")  # BG-14
    _date(_el(period, "ram:StartDateTime"), invoice["period_start"])  # BT-73
    _date(_el(period, "ram:EndDateTime"), invoice["period_end"])  # BT-74
    if terms or due_date:
        payment_terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
        if terms:
            _el(payment_terms, "ram:Description", terms)  # BT-20
        if due_date:
            _date(_el(payment_terms, "ram:DueDateDateTime"), due_date)  # BT-9
    sums = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")  # BG-22
    _el(sums, "ram:LineTotalAmount", amount(sum(line.amount for line in lines)))  # BT-106
    _el(sums, "ram:TaxBasisTotalAmount", amount(subtotal))  # BT-109
    _el(sums, "ram:TaxTotalAmount", amount(tax), currencyID=currency)  # BT-110
    _el(sums, "ram:GrandTotalAmount", amount(total))  # BT-112
    if prepaid:
        _el(sums, "ram:TotalPrepaidAmount", amount(prepaid))  # BT-113: credits applied at issue
    _el(sums, "ram:DuePayableAmount", amount(total - prepaid))  # BT-115
    if preceding:  # BG-3
        cited = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(cited, "ram:IssuerAssignedID", preceding[0])  # BT-25
        _date(_el(cited, "ram:FormattedIssueDateTime"), preceding[1], prefix="qdt")  # BT-26
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _party(parent: etree._Element, tag: str, party: dict[str, Any]) -> None:
    node = _el(parent, tag)
    _el(node, "ram:Name", party["name"])  # BT-27 / BT-44
    country = (party.get("country") or "").upper()
    if party.get("siren") and country == "FR":
        _el(_el(node, "ram:SpecifiedLegalOrganization"), "ram:ID", party["siren"].replace(" ", ""),
            schemeID=SIREN_SCHEME)  # BT-30 / BT-47
    address = _el(node, "ram:PostalTradeAddress")  # BG-5 / BG-8
    _optional(address, "ram:PostcodeCode", party.get("postal_code"))
    _optional(address, "ram:LineOne", party.get("address_line1"))
    _optional(address, "ram:LineTwo", party.get("address_line2"))
    _optional(address, "ram:CityName", party.get("city"))
    _el(address, "ram:CountryID", country)
    if party.get("email"):  # BT-34 / BT-49
        _el(_el(node, "ram:URIUniversalCommunication"), "ram:URIID", party["email"], schemeID="EM")
    if party.get("vat_number"):  # BT-31 / BT-48
        _el(_el(node, "ram:SpecifiedTaxRegistration"), "ram:ID", party["vat_number"].replace(" ", ""),
            schemeID="VA")


def _tag(qname: str) -> str:
    prefix, local = qname.split(":")
    return f"{{{NS[prefix]}}}{local}"


def _el(parent: etree._Element, qname: str, text: str | None = None, **attributes: str) -> etree._Element:
    node = etree.SubElement(parent, _tag(qname), **attributes)
    if text is not None:
        node.text = text
    return node


def _optional(parent: etree._Element, qname: str, text: str | None, **attributes: str) -> None:
    """Only when there is something to say: an empty element is a warning (PEPPOL-EN16931-R008)."""
    if text and text.strip():
        _el(parent, qname, text.strip(), **attributes)


def _date(parent: etree._Element, value: date, prefix: str = "udt") -> None:
    _el(parent, f"{prefix}:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _rate(rate: Any) -> str:
    return f"{(Decimal(rate) * 100).normalize():f}"


def _language(invoice: dict[str, Any]) -> str:
    return "fr" if (invoice.get("locale") or "").startswith("fr") else "en"
