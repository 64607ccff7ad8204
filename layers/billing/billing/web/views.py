"""What the dashboard pages print: invoice rows and details formatted for the viewer's locale."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date, format_interval
from babel.numbers import format_percent

from billing.domain import format as fmt
from billing.domain.money import Money

SUPPORTED_LOCALES = {"fr": "fr-FR", "en": "en-US"}
DEFAULT_LOCALE = "en-US"
STATUS_LABELS = {"DRAFT": "Draft", "SENT": "Sent", "OVERDUE": "Overdue", "PAID": "Paid", "CANCELLED": "Cancelled"}


def viewer_locale(accept_language: str | None) -> str:
    """The supported locale the browser prefers most (Accept-Language), else en-US."""
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        language = tag.split("-")[0]
        if language in SUPPORTED_LOCALES:
            return SUPPORTED_LOCALES[language]
    return DEFAULT_LOCALE


def amount_due_minor(invoice: dict[str, Any]) -> int:
    """What the customer still owes: nothing once paid or cancelled, else the total less credits and payments."""
    if invoice["status"] in ("PAID", "CANCELLED"):
        return 0
    settled = (invoice.get("credits_applied_minor") or 0) + (invoice.get("paid_minor") or 0)
    return max(0, invoice["total_minor"] - settled)


class Formatter:
    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._babel = fmt.babel_locale(locale)

    def money(self, minor: int, currency: str) -> str:
        return fmt.money(Money(minor, currency.strip()), self.locale)

    def day(self, value: date | None) -> str:
        return format_date(value, "medium", locale=self._babel) if value else "—"

    def period(self, start: date, end: date) -> str:
        return format_interval(start, end, "yMMMd", locale=self._babel)

    def number(self, value: int) -> str:
        return fmt.number(value, self.locale)

    def percent(self, rate: Decimal) -> str:
        return format_percent(rate, format="#,##0.##%", locale=self._babel)


@dataclass(frozen=True)
class InvoiceRow:
    id: str
    number: str
    customer: str
    customer_email: str
    period: str
    status: str
    status_label: str
    total: str
    amount_due: str
    issued: str
    due: str
    has_pdf: bool


@dataclass(frozen=True)
class Line:
    description: str
    quantity: str
    unit_price: str
    amount: str


@dataclass(frozen=True)
class CreditNote:
    number: str
    issued: str
    total: str
    reason: str | None


@dataclass(frozen=True)
class Payment:
    received: str
    amount: str
    status: str
    provider: str


@dataclass(frozen=True)
class Event:
    when: str
    what: str
    by: str


@dataclass(frozen=True)
class InvoiceDetail:
    row: InvoiceRow
    buyer: dict[str, Any]
    lines: list[Line]
    subtotal: str
    tax_label: str
    tax: str
    total: str
    credits: str | None
    paid: str | None
    amount_due: str
    tax_mention: str | None
    notes: str | None
    credit_note: CreditNote | None
    payments: list[Payment]
    alerts: list[str]
    history: list[Event]


def invoice_row(invoice: dict[str, Any], f: Formatter) -> InvoiceRow:
    buyer, currency = invoice.get("buyer") or {}, invoice["currency"]
    return InvoiceRow(
        id=invoice["id"], number=invoice["number"] or "Draft", customer=buyer.get("name") or "—",
        customer_email=buyer.get("email") or "", period=f.period(invoice["period_start"], invoice["period_end"]),
        status=invoice["status"], status_label=STATUS_LABELS.get(invoice["status"], invoice["status"].title()),
        total=f.money(invoice["total_minor"], currency), amount_due=f.money(amount_due_minor(invoice), currency),
        issued=f.day(invoice["issue_date"]), due=f.day(invoice["due_date"]), has_pdf=bool(invoice["pdf_key"]),
    )


def invoice_detail(invoice: dict[str, Any], f: Formatter) -> InvoiceDetail:
    currency = invoice["currency"]
    credits, paid = invoice.get("credits_applied_minor") or 0, invoice.get("paid_minor") or 0
    exempt = not invoice["tax_minor"] and invoice.get("tax_category", "S") != "S"
    return InvoiceDetail(
        row=invoice_row(invoice, f), buyer=invoice.get("buyer") or {},
        lines=[
            Line(description=it["description"], quantity=f.number(it["quantity"]),
                 unit_price=f.money(it["unit_price_minor"], currency)
                 + (f" / {f.number(it['base_quantity'])}" if it["base_quantity"] != 1 else ""),
                 amount=f.money(it["amount_minor"], currency))
            for it in invoice.get("items") or []
        ],
        subtotal=f.money(invoice["subtotal_minor"], currency),
        tax_label="VAT exempt" if exempt else f"VAT {f.percent(invoice['tax_rate'])}",
        tax=f.money(invoice["tax_minor"], currency), total=f.money(invoice["total_minor"], currency),
        credits=f.money(-credits, currency) if credits else None,
        paid=f.money(-paid, currency) if paid else None,
        amount_due=f.money(amount_due_minor(invoice), currency),
        tax_mention=invoice.get("tax_mention"), notes=invoice.get("notes"),
        credit_note=_credit_note(invoice.get("credit_note"), f),
        payments=[Payment(received=f.day(p["received_at"].date()), amount=f.money(p["amount_minor"], currency),
                          status=p["status"].title(), provider=p["provider"]) for p in invoice.get("payments") or []],
        alerts=[a["message"] for a in invoice.get("alerts") or []],
        history=[_event(e, invoice["user_id"], f) for e in invoice.get("history") or []],
    )


HISTORY_LABELS = {"invoice.created": "Created", "invoice.issued": "Issued", "invoice.emailed": "E-mailed",
                  "payment.recorded": "Payment recorded", "invoice.archived": "PDF archived",
                  "invoice.updated": "Edited"}


def _event(row: dict[str, Any], owner: str, f: Formatter) -> Event:
    details = row["details"] or {}
    if row["action"] == "invoice.status":
        what = f"{STATUS_LABELS.get(details.get('from'), details.get('from'))} → " \
               f"{STATUS_LABELS.get(details.get('to'), details.get('to'))}"
    else:
        what = HISTORY_LABELS.get(row["action"], row["action"])
        if row["action"] == "invoice.issued" and details.get("number"):
            what += f" as {details['number']}"
    actor = row["actor"]
    by = "the customer" if actor == owner else "the system" if actor.startswith("system") else "billing staff"
    return Event(when=f"{f.day(row['occurred_at'].date())} {row['occurred_at']:%H:%M}", what=what, by=by)


def _credit_note(note: dict[str, Any] | None, f: Formatter) -> CreditNote | None:
    if not note:
        return None
    return CreditNote(number=note["number"], issued=f.day(note["issue_date"]),
                      total=f.money(note["total_minor"], note["currency"]), reason=note.get("reason"))
