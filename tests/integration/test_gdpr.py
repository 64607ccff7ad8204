"""GDPR over the real servers: consents, export, erasure (and exactly what remains), purge after retention."""
from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import date

from billing.domain.period import Period
from billing.ports.db import database
from billing.ports.storage import storage
from billing.services.gdpr.rights import purge_past_retention
from billing.services.invoices.generate import generate_invoice
from tests.support import ADMIN_ID, api, claims

ADMIN = claims(ADMIN_ID, admin=True)
OCTOBER = {"type": "monthly", "startDate": "2026-10-01", "endDate": "2026-10-31"}


def invoice_for(user: str, **extra) -> dict:
    status, body = api("POST", "/billing/invoices", "/billing/invoices", ADMIN, body={"userId": user, **extra})
    assert status == 201, body
    return body


def test_consents_are_recorded_with_their_source_and_exported(make_customer):
    user = make_customer()
    status, consent = api("POST", f"/billing/users/{user}/consents", "/billing/users/{id}/consents", claims(user),
                          body={"purpose": "marketing_email", "granted": True, "source": "signup_form"})
    assert (status, consent["purpose"], consent["source"]) == (201, "marketing_email", "signup_form")
    api("POST", f"/billing/users/{user}/consents", "/billing/users/{id}/consents", claims(user),
        body={"purpose": "marketing_email", "granted": False})
    status, export = api("GET", f"/billing/users/{user}/export", "/billing/users/{id}/export", claims(user))
    assert status == 200 and [(c["granted"], c["source"]) for c in export["consents"]] == [
        (True, "signup_form"), (False, "api")]


def test_export_holds_everything_with_working_pdf_links_and_is_audited(make_customer):
    user = make_customer(25_000, email="export@acme.example")
    invoice = invoice_for(user, period=OCTOBER)
    status, data = api("GET", f"/billing/users/{user}/export", "/billing/users/{id}/export", claims(user))
    assert status == 200 and data["profile"]["email"] == "export@acme.example"
    assert data["usage_by_day"][0]["requests"] == 25_000 and data["usage_by_month"][0]["requests"] == 25_000
    assert data["subscriptions"][0]["plan_code"] == "BASIC"
    [exported] = data["invoices"]
    assert exported["number"] == invoice["number"] and exported["items"]
    with urllib.request.urlopen(exported["pdf_url"]) as pdf:
        assert pdf.read().startswith(b"%PDF")
    trail = api("GET", "/billing/audit", "/billing/audit", ADMIN, query={"target": user})[1]["items"]
    assert "user.exported" in [e["action"] for e in trail]


def test_someone_else_cannot_export_or_erase_a_person(make_customer):
    user, other = make_customer(), str(uuid.uuid4())
    for method, path, route in (("GET", f"/billing/users/{user}/export", "/billing/users/{id}/export"),
                                ("DELETE", f"/billing/users/{user}", "/billing/users/{id}")):
        status, problem = api(method, path, route, claims(other))
        assert (status, problem["code"]) == (404, "customer_not_found")


def test_erasure_keeps_issued_invoices_and_removes_or_pseudonymises_the_rest(make_customer, db):
    user = make_customer(25_000, email="erase.me@acme.example", name="Erase Me SARL", phone="+33 1 00 00 00 00")
    issued = invoice_for(user, period=OCTOBER)
    api("POST", f"/billing/invoices/{issued['id']}/payments", "/billing/invoices/{id}/payments", ADMIN,
        body={"amount": 100, "currency": "EUR", "provider": "stripe", "providerTransactionId": f"e-{user}"})
    draft = invoice_for(user, period={"type": "monthly", "startDate": "2026-09-01", "endDate": "2026-09-30"},
                        finalize=False)
    api("POST", f"/billing/customers/{user}/credits", "/billing/customers/{userId}/credits", ADMIN,
        body={"amount": 300, "currency": "EUR", "type": "PROMOTIONAL", "reason": "unused"})
    api("POST", f"/billing/users/{user}/consents", "/billing/users/{id}/consents", claims(user),
        body={"purpose": "terms", "granted": True})

    status, summary = api("DELETE", f"/billing/users/{user}", "/billing/users/{id}", claims(user))
    assert status == 200 and summary["invoicesKept"] == 1

    with db.transaction() as tx:
        def count(sql):
            return tx.value(sql, u=user)
        profile = tx.one("SELECT name, email, address_line1, phone FROM user_profiles WHERE user_id = CAST(:u AS uuid)",
                         u=user)
        remains = {
            "issued invoices": count("SELECT count(*) FROM invoices WHERE user_id = CAST(:u AS uuid) AND number IS NOT NULL"),
            "drafts": count("SELECT count(*) FROM invoices WHERE user_id = CAST(:u AS uuid) AND number IS NULL"),
            "payments": count("SELECT count(*) FROM payments p JOIN invoices i ON i.id = p.invoice_id"
                              " WHERE i.user_id = CAST(:u AS uuid)"),
            "usage events": count("SELECT count(*) FROM usage_logs WHERE user_id = CAST(:u AS uuid)"),
            "usage days": count("SELECT count(*) FROM usage_daily WHERE user_id = CAST(:u AS uuid)"),
            "usage months": count("SELECT count(*) FROM usage_monthly WHERE user_id = CAST(:u AS uuid)"),
            "alerts": count("SELECT count(*) FROM billing_alerts WHERE user_id = CAST(:u AS uuid)"),
            "unused credits": count("SELECT count(*) FROM credits WHERE user_id = CAST(:u AS uuid)"),
            "consents": count("SELECT count(*) FROM gdpr_consents WHERE user_id = CAST(:u AS uuid)"),
            "open subscriptions": count("SELECT count(*) FROM subscriptions WHERE user_id = CAST(:u AS uuid)"
                                        " AND (ended_on IS NULL OR ended_on > CURRENT_DATE)"),
            "user erased": count("SELECT deleted_at IS NOT NULL FROM users WHERE id = CAST(:u AS uuid)"),
        }
    assert remains == {"issued invoices": 1, "drafts": 0, "payments": 1, "usage events": 0, "usage days": 0,
                       "usage months": 0, "alerts": 0, "unused credits": 0, "consents": 1, "open subscriptions": 0,
                       "user erased": True}
    assert profile["name"].startswith("erased-") and profile["email"].endswith("@erased.invalid")
    assert (profile["address_line1"], profile["phone"]) == ("-", None)
    assert "Erase Me" not in json.dumps(profile)
    # The issued invoice keeps its frozen buyer and its PDF: the law requires them for the retention period.
    kept = api("GET", f"/billing/invoices/{issued['id']}", "/billing/invoices/{id}", ADMIN)[1]
    assert kept["status"] == "SENT" and storage().exists(kept["document"]["key"])
    assert api("GET", f"/billing/invoices/{draft['id']}", "/billing/invoices/{id}", ADMIN)[0] == 404


def test_the_purge_removes_documents_once_retention_ends(make_customer, db):
    user = make_customer(100, start_date=date(2015, 1, 1))
    old = generate_invoice(user, Period.month(2016, 1), today=date(2016, 2, 10))
    recent = generate_invoice(user, Period.month(2016, 3), today=date(2016, 11, 22))
    purged = purge_past_retention(date(2026, 11, 21))
    assert old["id"] in purged and recent["id"] not in purged
    assert not storage().exists(old["pdf_key"]) and storage().exists(recent["pdf_key"])
    with db.transaction() as tx:
        row = tx.one("SELECT buyer, pdf_key, purged_at FROM invoices WHERE id = CAST(:i AS uuid)", i=old["id"])
    assert row["buyer"] == {"purged": True} and row["pdf_key"] is None and row["purged_at"] is not None
