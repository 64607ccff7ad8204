"""Issue 3 over the real servers: drafts, PATCH moves, cancel + credit note, credits, payments, VAT, send."""
from __future__ import annotations

import base64
import email
import uuid

import pytest

from billing.ports.storage import storage
from billing.services.invoices.document import record_stored_document
from tests.support import ADMIN_ID, api, claims, pdf_text

OCTOBER = {"type": "monthly", "startDate": "2026-10-01", "endDate": "2026-10-31"}
ADMIN = claims(ADMIN_ID, admin=True)
ONE = "/billing/invoices/{id}"


def create(user: str, **extra) -> dict:
    status, body = api("POST", "/billing/invoices", "/billing/invoices", ADMIN,
                       body={"userId": user, "period": OCTOBER, **extra})
    assert status == 201, body
    return body


def patch(invoice_id: str, body: dict, who=ADMIN) -> tuple[int, dict]:
    return api("PATCH", f"/billing/invoices/{invoice_id}", ONE, who, body=body)


def pay(invoice_id: str, amount: int, status: str = "COMPLETED", tx: str | None = None, currency: str = "EUR"):
    return api("POST", f"/billing/invoices/{invoice_id}/payments", "/billing/invoices/{id}/payments", ADMIN,
               body={"amount": amount, "currency": currency, "provider": "stripe",
                     "providerTransactionId": tx or str(uuid.uuid4()), "status": status})


# ---- drafts and PATCH ---------------------------------------------------------------------------------------

def test_a_draft_has_no_number_no_pdf_and_previews_as_brouillon(make_customer):
    user = make_customer(25_000)
    draft = create(user, finalize=False)
    assert (draft["status"], draft["number"], draft["document"]) == ("DRAFT", None, None)
    status, reply = api("GET", f"/billing/invoices/{draft['id']}/pdf", "/billing/invoices/{id}/pdf", claims(user))
    raw = reply["raw"]
    assert status == 200 and raw["headers"]["Content-Type"] == "application/pdf" and raw["isBase64Encoded"]
    assert "BROUILLON" in pdf_text(base64.b64decode(raw["body"]))
    listed = storage().client.list_objects_v2(Bucket=storage().bucket, Prefix=f"invoices/{user}/")
    assert listed["KeyCount"] == 0


def test_patch_edits_a_draft_then_issues_it_keeping_its_due_date(make_customer):
    user = make_customer(100)
    draft = create(user, finalize=False)
    status, edited = patch(draft["id"], {"dueDate": "2027-01-15", "notes": "PO 4711"})
    assert (status, edited["dueDate"], edited["notes"]) == (200, "2027-01-15", "PO 4711")
    status, issued = patch(draft["id"], {"status": "SENT"})
    assert (status, issued["status"], issued["dueDate"]) == (200, "SENT", "2027-01-15")
    assert issued["number"].startswith("INV-") and issued["document"]["key"].endswith(".pdf")


def test_issued_invoice_due_date_is_frozen_but_notes_are_not(make_customer):
    invoice = create(make_customer(100))
    status, problem = patch(invoice["id"], {"dueDate": "2027-02-01"})
    assert (status, problem["code"]) == (409, "invoice_immutable")
    assert patch(invoice["id"], {"notes": "called the customer"})[1]["notes"] == "called the customer"


@pytest.mark.parametrize("start,target", [("SENT", "DRAFT"), ("PAID", "SENT"), ("CANCELLED", "SENT"),
                                          ("PAID", "CANCELLED")])
def test_refused_moves_answer_409_naming_both_states(make_customer, start, target):
    invoice = create(make_customer(100))
    if start == "PAID":
        patch(invoice["id"], {"status": "PAID"})
    if start == "CANCELLED":
        patch(invoice["id"], {"status": "CANCELLED"})
    status, problem = patch(invoice["id"], {"status": target})
    assert (status, problem["code"], problem["from"], problem["to"]) == (409, "invalid_transition", start, target)


def test_only_admins_patch(make_customer):
    user = make_customer(100)
    invoice = create(user)
    assert patch(invoice["id"], {"notes": "x"}, who=claims(user))[1]["code"] == "forbidden"


def test_overdue_raises_an_alert_the_customer_can_list(make_customer):
    user = make_customer(100)
    invoice = create(user)
    assert patch(invoice["id"], {"status": "OVERDUE"})[1]["status"] == "OVERDUE"
    status, alerts = api("GET", "/billing/alerts", "/billing/alerts", claims(user))
    assert status == 200 and [(a["type"], a["invoiceId"]) for a in alerts["items"]] == [("INVOICE_OVERDUE", invoice["id"])]
    other = api("GET", "/billing/alerts", "/billing/alerts", claims(str(uuid.uuid4())))[1]
    assert other["items"] == []


# ---- cancel and credit notes ----------------------------------------------------------------------------------

def test_cancelling_an_issued_invoice_issues_a_credit_note_with_its_own_pdf(make_customer):
    user = make_customer(25_000)
    invoice = create(user)
    pay(invoice["id"], 980)  # 1980 due, 980 paid: 1000 remain
    status, cancelled = patch(invoice["id"], {"status": "CANCELLED"})
    note = cancelled["creditNote"]
    assert (status, cancelled["status"]) == (200, "CANCELLED")
    assert note["number"].startswith("AVO-2026-") and note["total"] == 1000 and note["tax"] + note["subtotal"] == 1000
    obj = storage().get(note["documentKey"])
    assert obj.metadata["document-type"] == "credit-note" and obj.metadata["invoice-number"] == invoice["number"]
    text = pdf_text(obj.body)
    assert note["number"] in text and invoice["number"] in text and "Avoir" in text
    assert record_stored_document(note["documentKey"]) == "recorded"
    assert record_stored_document(note["documentKey"]) == "duplicate"
    detail = api("GET", f"/billing/invoices/{invoice['id']}", ONE, claims(user))[1]
    assert detail["creditNote"]["recordedAt"] is not None


def test_credit_note_numbers_are_their_own_gapless_sequence(make_customer):
    numbers = []
    for _ in range(3):
        invoice = create(make_customer(100))
        numbers.append(patch(invoice["id"], {"status": "CANCELLED"})[1]["creditNote"]["number"])
    values = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert values == list(range(values[0], values[0] + 3))


def test_cancelling_a_draft_issues_no_credit_note(make_customer):
    draft = create(make_customer(100), finalize=False)
    status, cancelled = patch(draft["id"], {"status": "CANCELLED"})
    assert (status, cancelled["status"], cancelled["creditNote"], cancelled["number"]) == (200, "CANCELLED", None, None)


# ---- credits ---------------------------------------------------------------------------------------------------

def grant(user: str, amount: int, expires: str | None = None, currency: str = "EUR"):
    return api("POST", f"/billing/customers/{user}/credits", "/billing/customers/{userId}/credits", ADMIN,
               body={"amount": amount, "currency": currency, "type": "PROMOTIONAL", "reason": "welcome",
                     **({"expiresAt": expires} if expires else {})})


def test_credits_apply_at_issue_oldest_expiry_first_and_never_beyond_the_amount_due(make_customer, db):
    user = make_customer(25_000)  # total 1980
    _, late = grant(user, 5000)
    _, soon = grant(user, 1000, expires="2026-12-31")
    _, expired = grant(user, 700, expires="2026-11-01")
    invoice = create(user)
    assert (invoice["total"], invoice["creditsApplied"], invoice["amountDue"]) == (1980, 1980, 0)
    with db.transaction() as tx:
        used = {r["credit_id"]: r["amount_minor"] for r in tx.all(
            "SELECT credit_id::text AS credit_id, amount_minor FROM credit_applications WHERE invoice_id = CAST(:i AS uuid)",
            i=invoice["id"])}
    assert used == {soon["id"]: 1000, late["id"]: 980}
    assert expired["id"] not in used
    assert "Avoirs et crédits déduits" in pdf_text(storage().get(invoice["document"]["key"]).body)


def test_a_credit_in_another_currency_is_refused(make_customer):
    status, problem = grant(make_customer(), 100, currency="USD")
    assert (status, problem["code"]) == (400, "currency_mismatch")


# ---- payments --------------------------------------------------------------------------------------------------

def test_partial_payments_add_up_to_paid_and_a_refund_reopens(make_customer):
    invoice = create(make_customer(25_000))
    assert pay(invoice["id"], 1000)[0] == 201
    one = api("GET", f"/billing/invoices/{invoice['id']}", ONE, ADMIN)[1]
    assert (one["status"], one["amountPaid"]) == ("SENT", 1000)
    pay(invoice["id"], 980)
    assert api("GET", f"/billing/invoices/{invoice['id']}", ONE, ADMIN)[1]["status"] == "PAID"
    pay(invoice["id"], 500, status="REFUNDED")
    reopened = api("GET", f"/billing/invoices/{invoice['id']}", ONE, ADMIN)[1]
    assert (reopened["status"], reopened["amountPaid"]) == ("SENT", 1480)


def test_the_same_provider_transaction_returns_the_recorded_payment_and_records_nothing(make_customer):
    invoice = create(make_customer(25_000))
    first_status, first = pay(invoice["id"], 700, tx="ch_123")
    again_status, again = pay(invoice["id"], 700, tx="ch_123")
    assert (first_status, again_status, again["id"]) == (201, 200, first["id"])
    assert api("GET", f"/billing/invoices/{invoice['id']}", ONE, ADMIN)[1]["amountPaid"] == 700


def test_payment_refusals(make_customer):
    user = make_customer(100)
    invoice = create(user)
    assert pay(invoice["id"], 100, currency="USD")[1]["code"] == "currency_mismatch"
    draft_user = make_customer(100)
    draft = create(draft_user, finalize=False)
    status, problem = pay(draft["id"], 100)
    assert (status, problem["code"]) == (409, "invoice_not_payable")


def test_a_failed_payment_raises_a_payment_failed_alert(make_customer):
    user = make_customer(100)
    invoice = create(user)
    pay(invoice["id"], 100, status="FAILED")
    alerts = api("GET", "/billing/alerts", "/billing/alerts", claims(user))[1]["items"]
    assert [a["type"] for a in alerts] == ["PAYMENT_FAILED"]


# ---- VAT ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("country,vat,category,tax,mention", [
    ("FR", None, "S", 330, None),
    ("DE", None, "S", 330, None),  # an EU consumer pays French VAT
    ("DE", "DE123456789", "AE", 0, "Reverse charge — Article 196 of Council Directive 2006/112/EC"),
    ("US", None, "G", 0, "VAT exempt — export of services outside the EU"),
])
def test_vat_treatment_by_country_and_vat_number(make_customer, country, vat, category, tax, mention):
    user = make_customer(25_000, country=country, vat_number=vat, locale="en-US")
    invoice = create(user)
    assert (invoice["taxCategory"], invoice["tax"], invoice["total"]) == (category, tax, 1650 + tax)
    if mention:
        assert invoice["taxMention"].startswith(mention)
        assert mention in pdf_text(storage().get(invoice["document"]["key"]).body)


def test_reverse_charge_prints_autoliquidation_in_french(make_customer):
    user = make_customer(25_000, country="BE", vat_number="BE0123456789")
    invoice = create(user)
    assert invoice["taxMention"] == "Autoliquidation"
    assert "Autoliquidation" in pdf_text(storage().get(invoice["document"]["key"]).body)


# ---- send -----------------------------------------------------------------------------------------------------------

def test_send_emails_html_and_text_with_the_pdf_in_the_customers_language(make_customer, infra):
    user = make_customer(25_000, email="send@acme.example")
    invoice = create(user)
    status, sent = api("POST", f"/billing/invoices/{invoice['id']}/send", "/billing/invoices/{id}/send", claims(user))
    assert status == 202 and sent["emailedAt"] is not None
    mails = [email.message_from_bytes(p.read_bytes()) for p in infra.mail_dir.glob("*.eml")]
    mine = [m for m in mails if m["To"] == "send@acme.example" and invoice["number"] in m["Subject"]]
    assert len(mine) == 1 and mine[0]["Subject"].startswith(f"Facture {invoice['number']}")
    kinds = {part.get_content_type() for part in mine[0].walk()}
    assert {"text/plain", "text/html", "application/pdf"} <= kinds


def test_send_of_a_draft_issues_it_first(make_customer):
    user = make_customer(100, email="draft-send@acme.example")
    draft = create(user, finalize=False)
    status, sent = api("POST", f"/billing/invoices/{draft['id']}/send", "/billing/invoices/{id}/send", claims(user))
    assert (status, sent["status"]) == (202, "SENT") and sent["number"].startswith("INV-")


def test_send_with_smtp_down_is_502_and_leaves_the_invoice_as_it_was(make_customer, monkeypatch):
    from billing.config import settings
    from billing.devstack.services import free_port

    user = make_customer(100)
    invoice = create(user)
    monkeypatch.setenv("SMTP_PORT", str(free_port()))
    settings.cache_clear()
    try:
        status, problem = api("POST", f"/billing/invoices/{invoice['id']}/send", "/billing/invoices/{id}/send",
                              claims(user))
    finally:
        monkeypatch.undo()
        settings.cache_clear()
    assert (status, problem["code"]) == (502, "email_failed")
    after = api("GET", f"/billing/invoices/{invoice['id']}", ONE, claims(user))[1]
    assert (after["status"], after["emailedAt"]) == ("SENT", None)


def test_send_through_ses_on_the_moto_api(make_customer, monkeypatch, infra):
    import json
    import urllib.request

    import boto3

    from billing.config import settings

    def raw_messages_to(address: str) -> list[dict]:
        # moto's own view of what SES accepted (AWS offers no such read-back).
        data = json.load(urllib.request.urlopen(f"{infra.s3_endpoint_url}/moto-api/data.json"))
        return [m for m in data["ses"]["RawMessage"] if address in json.dumps(m)]

    monkeypatch.setenv("EMAIL_PROVIDER", "ses")
    monkeypatch.setenv("SES_ENDPOINT_URL", infra.s3_endpoint_url)
    monkeypatch.setenv("INVOICE_EMAIL_FROM", "billing@twinmcp.example")
    settings.cache_clear()
    boto3.client("ses", region_name="eu-west-3", endpoint_url=infra.s3_endpoint_url).verify_email_identity(
        EmailAddress="billing@twinmcp.example")
    try:
        user = make_customer(100, email="ses@acme.example")
        invoice = create(user)
        status, sent = api("POST", f"/billing/invoices/{invoice['id']}/send", "/billing/invoices/{id}/send", claims(user))
    finally:
        monkeypatch.undo()
        settings.cache_clear()
    assert (status, len(raw_messages_to("ses@acme.example"))) == (202, 1)
    assert sent["emailedAt"] is not None


def test_a_jpy_customer_is_invoiced_in_whole_yen(make_customer):
    user = make_customer(25_000, plan="BASIC_JPY", currency="JPY", country="JP", locale="en-US")
    invoice = create(user)
    # fee 1500 + 15,000 over at 80 yen per 1,000 = 1200; export of services: no VAT
    assert (invoice["currency"], invoice["subtotal"], invoice["tax"], invoice["total"]) == ("JPY", 2700, 0, 2700)
    text = pdf_text(storage().get(invoice["document"]["key"]).body)
    assert "¥2,700" in text and "¥2,700.00" not in text


def test_amounts_read_back_from_sql_are_integers_not_decimals(make_customer):
    from billing.domain.caller import Caller
    from billing.services.invoices.query import get_invoice

    user = make_customer(25_000)
    invoice = create(user)
    pay(invoice["id"], 100)
    row = get_invoice(Caller(ADMIN_ID, frozenset({"billing:admin"})), invoice["id"])
    minor = {k: v for k, v in row.items() if k.endswith("_minor")}
    assert minor and all(type(v) is int for v in minor.values()), minor
