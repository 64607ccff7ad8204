"""The invoice e-mail: text and HTML bodies in the customer's language, the PDF attached."""
from __future__ import annotations

from html import escape
from typing import Any

from billing.domain import format as fmt
from billing.domain.money import Money
from billing.ports import mail

WORDS = {
    "fr": {"subject": "Facture {number} — {due}", "hello": "Bonjour {name},",
           "body": "Veuillez trouver ci-joint la facture {number} d'un montant de {due}, à régler avant le {date}.",
           "thanks": "Merci de votre confiance,"},
    "en": {"subject": "Invoice {number} — {due}", "hello": "Hello {name},",
           "body": "Please find attached invoice {number} for {due}, due by {date}.",
           "thanks": "Thank you for your business,"},
}


def compose(invoice: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html)."""
    locale = invoice["locale"]
    words = WORDS["fr" if locale.startswith("fr") else "en"]
    due = fmt.money(Money(invoice["total_minor"] - (invoice.get("credits_applied_minor") or 0), invoice["currency"]),
                    locale)
    values = {"number": invoice["number"], "due": due, "name": invoice["buyer"]["name"],
              "date": fmt.day(invoice["due_date"], locale)}
    lines = [words["hello"].format(**values), words["body"].format(**values), words["thanks"],
             invoice["seller"]["name"]]
    text = "\n\n".join(lines) + "\n"
    html = "".join(f"<p>{escape(line)}</p>" for line in lines)
    return words["subject"].format(**values), text, f"<!DOCTYPE html><html><body>{html}</body></html>"


def email_invoice(invoice: dict[str, Any], body: bytes) -> None:
    subject, text, html = compose(invoice)
    mail.send(invoice["buyer"]["email"], subject, text, (f"{invoice['number']}.pdf", body, "application/pdf"), html)
