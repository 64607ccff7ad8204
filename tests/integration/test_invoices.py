"""Generating, numbering, storing and recording invoices on the real PostgreSQL, moto S3 and SMTP sink."""
from __future__ import annotations

import email
import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from billing.domain.errors import InvoiceExists
from billing.domain.period import Period
from billing.ports.db import numbers
from billing.ports.storage import storage
from billing.services.invoices.document import record_stored_document
from billing.services.invoices.finalize import issue_invoice
from billing.services.invoices.generate import generate_invoice
from tests.support import pdf_text

OCTOBER = Period.month(2026, 10)
ISSUED = date(2026, 11, 21)


def stored_text(key: str) -> str:
    return pdf_text(storage().get(key).body)


def test_basic_customer_with_25000_requests_pays_1980_cents(make_customer):
    user = make_customer(25_000)
    invoice = generate_invoice(user, OCTOBER, today=ISSUED)
    assert (invoice["subtotal_minor"], invoice["tax_minor"], invoice["total_minor"]) == (1650, 330, 1980)
    assert invoice["status"] == "SENT"
    assert invoice["number"].startswith("INV-2026-") and len(invoice["number"]) == len("INV-2026-000001")
    assert invoice["due_date"] == date(2026, 12, 21)
    text = stored_text(invoice["pdf_key"])
    assert "19,80 €" in text and invoice["number"] in text
    assert "Indemnité forfaitaire" in text


def test_stored_pdf_has_design_metadata_and_tags(make_customer):
    user = make_customer(12_000)
    invoice = generate_invoice(user, OCTOBER, today=ISSUED)
    key = invoice["pdf_key"]
    assert key.startswith(f"invoices/{user}/{invoice['id']}_{invoice['number']}_") and key.endswith(".pdf")
    obj = storage().get(key)
    assert obj.metadata["sha256"] == hashlib.sha256(obj.body).hexdigest()
    assert obj.metadata["file-size"] == str(obj.size)
    assert {k: obj.metadata[k] for k in ("invoice-id", "invoice-number", "user-id", "status", "total", "currency")} == {
        "invoice-id": invoice["id"], "invoice-number": invoice["number"], "user-id": user, "status": "SENT",
        "total": str(invoice["total_minor"]), "currency": "EUR"}
    tags = storage().client.get_object_tagging(Bucket=storage().bucket, Key=key)["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"type": "invoice", "userId": user, "invoiceId": invoice["id"],
                                                    "status": "SENT"}


def test_second_generation_for_same_period_raises_invoice_exists_with_its_id(make_customer):
    user = make_customer(1_000)
    first = generate_invoice(user, OCTOBER, today=ISSUED)
    objects_before = storage().client.list_objects_v2(Bucket=storage().bucket, Prefix=f"invoices/{user}/")["KeyCount"]
    with pytest.raises(InvoiceExists) as raised:
        generate_invoice(user, OCTOBER, today=ISSUED)
    assert raised.value.invoice_id == first["id"]
    assert storage().client.list_objects_v2(Bucket=storage().bucket, Prefix=f"invoices/{user}/")["KeyCount"] == objects_before


def test_concurrent_generations_for_same_period_make_one_invoice(make_customer, db):
    user = make_customer(1_000)

    def attempt(_: int) -> str:
        try:
            return generate_invoice(user, OCTOBER, today=ISSUED)["id"]
        except InvoiceExists as exc:
            return f"exists:{exc.invoice_id}"

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(attempt, range(4)))  # any other exception is raised here
    created = [o for o in outcomes if not o.startswith("exists:")]
    assert len(created) == 1
    assert all(o == f"exists:{created[0]}" for o in outcomes if o.startswith("exists:"))


def test_a_draft_issued_while_a_retry_waits_for_it_answers_invoice_exists(make_customer, db):
    # The retry reads the DRAFT, then waits for the row lock while another request issues it: it must answer
    # invoice_exists with the invoice, as a later retry does, not "cannot move from SENT to SENT".
    user = make_customer(100)
    draft = generate_invoice(user, OCTOBER, finalize=False, today=ISSUED)["id"]
    outcomes: dict[str, object] = {}

    def run(name, call):
        try:
            outcomes[name] = call()["status"]
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion below
            outcomes[name] = exc

    def waiting_for_lock(count: int) -> None:
        for _ in range(500):
            waiting = db.run_alone("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
                                   " AND wait_event_type = 'Lock'"
                                   " AND query LIKE '%FOR UPDATE%'")
            if waiting == count:
                return
            time.sleep(0.01)
        raise AssertionError(f"{count} sessions never waited for the invoice's lock")

    with db.transaction() as holder:
        holder.one("SELECT id FROM invoices WHERE id = CAST(:id AS uuid) FOR UPDATE", id=draft)
        issuer = threading.Thread(target=run, args=("issuer", lambda: issue_invoice(draft, today=ISSUED)))
        issuer.start()
        waiting_for_lock(1)  # the issuer is first in the lock's queue
        retry = threading.Thread(target=run, args=("retry", lambda: generate_invoice(user, OCTOBER, today=ISSUED)))
        retry.start()
        waiting_for_lock(2)  # the retry has read the DRAFT and waits behind the issuer
    issuer.join()
    retry.join()
    assert outcomes["issuer"] == "SENT"
    assert isinstance(outcomes["retry"], InvoiceExists) and outcomes["retry"].invoice_id == draft


def test_twenty_racing_finalizations_get_twenty_consecutive_numbers(make_customer, db):
    # A year of its own so the other tests' numbers do not interleave.
    year_day = date(2031, 3, 1)
    drafts = []
    for _ in range(20):
        user = make_customer(100)
        drafts.append(generate_invoice(user, OCTOBER, finalize=False, today=ISSUED)["id"])
    barrier = threading.Barrier(20)

    def finalize(invoice_id: str) -> str:
        barrier.wait()
        return issue_invoice(invoice_id, today=year_day, db=db)["number"]

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(finalize, drafts))  # an exception in any thread is raised here
    assert sorted(results) == [f"INV-2031-{n:06d}" for n in range(1, 21)]


def test_rolled_back_numbering_leaves_no_gap(db):
    with db.transaction() as tx:
        first = numbers.next_value(tx, "INV", 2032)
    with pytest.raises(RuntimeError):
        with db.transaction() as tx:
            numbers.next_value(tx, "INV", 2032)
            raise RuntimeError("rendering failed before commit")
    with db.transaction() as tx:
        assert numbers.next_value(tx, "INV", 2032) == first + 1


def test_stored_document_is_recorded_once_and_emailed_once(make_customer, infra, db):
    user = make_customer(25_000, email="once@acme.example")
    invoice = generate_invoice(user, OCTOBER, send_requested=True, today=ISSUED)
    assert record_stored_document(invoice["pdf_key"]) == "recorded"
    assert record_stored_document(invoice["pdf_key"]) == "duplicate"
    with db.transaction() as tx:
        row = tx.one("SELECT pdf_size, pdf_sha256, pdf_etag, document_recorded_at, emailed_at FROM invoices"
                     " WHERE id = CAST(:id AS uuid)", id=invoice["id"])
    obj = storage().get(invoice["pdf_key"])
    assert (row["pdf_size"], row["pdf_sha256"], row["pdf_etag"]) == (obj.size, hashlib.sha256(obj.body).hexdigest(), obj.etag)
    assert row["emailed_at"] is not None
    mails = [email.message_from_bytes(p.read_bytes()) for p in infra.mail_dir.glob("*.eml")]
    mine = [m for m in mails if m["To"] == "once@acme.example" and invoice["number"] in m["Subject"]]
    assert len(mine) == 1
    attachment = next(part for part in mine[0].walk() if part.get_filename() == f"{invoice['number']}.pdf")
    assert attachment.get_payload(decode=True) == obj.body


def test_tampered_document_is_not_recorded(make_customer, db):
    user = make_customer(1_000)
    invoice = generate_invoice(user, OCTOBER, today=ISSUED)
    original = storage().get(invoice["pdf_key"])
    storage().client.put_object(Bucket=storage().bucket, Key=invoice["pdf_key"], Body=original.body + b"%tampered",
                                Metadata=original.metadata)
    assert record_stored_document(invoice["pdf_key"]) == "corrupt"
    with db.transaction() as tx:
        assert tx.value("SELECT document_recorded_at FROM invoices WHERE id = CAST(:id AS uuid)", id=invoice["id"]) is None


def test_document_for_no_known_invoice_is_ignored(infra):
    body = b"%PDF-1.7 not ours"
    key = "invoices/00000000-0000-4000-8000-000000000000/unknown.pdf"
    storage().client.put_object(Bucket=storage().bucket, Key=key, Body=body, Metadata={
        "sha256": hashlib.sha256(body).hexdigest(), "file-size": str(len(body)), "invoice-id": "nope"})
    assert record_stored_document(key) == "unknown"


def test_customer_without_profile_cannot_be_invoiced(infra):
    from billing.domain.errors import CustomerNotFound

    with pytest.raises(CustomerNotFound):
        generate_invoice("00000000-0000-4000-8000-0000000000ff", OCTOBER, today=ISSUED)


def test_pdf_lost_at_issue_is_stored_again_on_first_download(make_customer):
    from billing.domain.caller import Caller
    from billing.services.invoices.query import pdf_download

    user = make_customer(25_000)
    invoice = generate_invoice(user, OCTOBER, today=ISSUED)
    storage().client.delete_object(Bucket=storage().bucket, Key=invoice["pdf_key"])  # as if the upload had failed
    assert not storage().exists(invoice["pdf_key"])
    kind, url = pdf_download(Caller(user, frozenset()), invoice["id"])
    assert kind == "redirect"
    assert storage().exists(invoice["pdf_key"]) and invoice["pdf_key"].split("/")[-1] in url
    assert "19,80 €" in stored_text(invoice["pdf_key"])


def test_failed_upload_at_issue_keeps_the_number_and_answers_503(make_customer, monkeypatch, db):
    from billing.domain.errors import DependencyUnavailable
    from billing.ports import storage as storage_port

    user = make_customer(100)
    monkeypatch.setattr(storage_port.storage(), "bucket", "no-such-bucket")  # the real S3 API refuses the put
    with pytest.raises(DependencyUnavailable) as raised:
        generate_invoice(user, OCTOBER, today=ISSUED)
    with db.transaction() as tx:
        row = tx.one("SELECT status::text AS status, number FROM invoices WHERE id = CAST(:id AS uuid)",
                     id=raised.value.extra["invoiceId"])
    assert row == {"status": "SENT", "number": raised.value.extra["number"]}


def test_smtp_down_still_records_the_document_and_the_retry_sends_the_mail(make_customer, infra, monkeypatch, db):
    from billing.config import settings
    from billing.devstack.services import free_port

    user = make_customer(25_000, email="retry@acme.example")
    invoice = generate_invoice(user, OCTOBER, send_requested=True, today=ISSUED)
    monkeypatch.setenv("SMTP_PORT", str(free_port()))  # nothing listens there
    settings.cache_clear()
    from billing.domain.errors import EmailFailed

    with pytest.raises(EmailFailed):  # after the retries with backoff
        record_stored_document(invoice["pdf_key"])
    with db.transaction() as tx:
        row = tx.one("SELECT document_recorded_at, emailed_at FROM invoices WHERE id = CAST(:id AS uuid)", id=invoice["id"])
    assert row["document_recorded_at"] is not None and row["emailed_at"] is None
    monkeypatch.undo()  # the sink is back
    settings.cache_clear()
    assert record_stored_document(invoice["pdf_key"]) == "duplicate"  # the retried event
    with db.transaction() as tx:
        assert tx.value("SELECT emailed_at FROM invoices WHERE id = CAST(:id AS uuid)", id=invoice["id"]) is not None
    mails = [email.message_from_bytes(p.read_bytes()) for p in infra.mail_dir.glob("*.eml")]
    assert len([m for m in mails if m["To"] == "retry@acme.example" and invoice["number"] in m["Subject"]]) == 1


def test_a_period_that_has_not_ended_cannot_be_invoiced(make_customer):
    from billing.domain.errors import InvalidPeriod

    with pytest.raises(InvalidPeriod):
        generate_invoice(make_customer(10), Period.month(2026, 11), today=ISSUED)


def test_overlapping_period_is_refused_with_the_invoice_that_covers_it(make_customer):
    from billing.domain.errors import PeriodOverlap

    user = make_customer(10)
    october = generate_invoice(user, OCTOBER, today=ISSUED)
    with pytest.raises(PeriodOverlap) as raised:
        generate_invoice(user, Period("custom", date(2026, 10, 20), date(2026, 11, 5)), today=ISSUED)
    assert raised.value.extra["invoiceId"] == october["id"]


def test_a_period_before_the_subscription_with_no_usage_is_not_billable(make_customer):
    from billing.domain.errors import NoActiveSubscription

    user = make_customer()  # subscribed from 2026-01-01
    with pytest.raises(NoActiveSubscription):
        generate_invoice(user, Period.month(2020, 1), today=ISSUED)


def test_custom_period_pays_fee_and_quota_pro_rata(make_customer):
    user = make_customer()
    invoice = generate_invoice(user, Period("custom", date(2026, 9, 1), date(2026, 9, 15)), today=ISSUED)
    assert [(i["kind"], i["amount_minor"]) for i in invoice["items"]] == [("fee", 450)]  # 900 x 15/30


def test_a_draft_left_by_an_interrupted_request_is_issued_on_retry(make_customer):
    user = make_customer(100)
    draft = generate_invoice(user, OCTOBER, finalize=False, today=ISSUED)
    assert draft["status"] == "DRAFT" and draft["number"] is None
    issued = generate_invoice(user, OCTOBER, today=ISSUED)
    assert (issued["id"], issued["status"]) == (draft["id"], "SENT")
