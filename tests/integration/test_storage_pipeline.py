"""Issue 4 on the real servers: archival, download fallbacks, presign bounds, stats, a Redis that stops."""
from __future__ import annotations

import subprocess
import time
from datetime import date

import pytest

from billing.domain.caller import Caller
from billing.domain.period import Period
from billing.ports import storage as storage_port
from billing.ports.db import database
from billing.ports.storage import Storage, storage
from billing.services.invoices.archive import archive_documents
from billing.services.invoices.document import record_stored_document
from billing.services.invoices.generate import generate_invoice
from billing.services.invoices.query import pdf_download
from tests.support import ADMIN_ID, api, claims


def issued_on(make_customer, day: date) -> dict:
    period = Period.previous_month(day)
    return generate_invoice(make_customer(100, start_date=date(2023, 1, 1)), period, today=day)


def test_archive_cut_off_is_exactly_730_days(make_customer):
    today = date(2026, 11, 21)
    kept = issued_on(make_customer, date(2024, 11, 21))     # 730 days before: not yet
    moved = issued_on(make_customer, date(2024, 11, 20))    # 731 days before
    archived = archive_documents(today)
    assert moved["id"] in archived and kept["id"] not in archived
    with database().transaction() as tx:
        row = tx.one("SELECT pdf_key, archived_at FROM invoices WHERE id = CAST(:i AS uuid)", i=moved["id"])
    assert row["pdf_key"] == "archive/" + moved["pdf_key"] and row["archived_at"] is not None
    assert not storage().exists(moved["pdf_key"])
    head = storage().client.head_object(Bucket=storage().bucket, Key=row["pdf_key"])
    assert head["StorageClass"] == "GLACIER_IR" and head["Metadata"]["invoice-id"] == moved["id"]
    tags = storage().client.get_object_tagging(Bucket=storage().bucket, Key=row["pdf_key"])["TagSet"]
    assert {"Key": "archived", "Value": "true"} in tags
    kind, url = pdf_download(Caller(moved["user_id"], frozenset()), moved["id"])
    assert kind == "redirect" and "/archive/invoices/" in url


def test_an_archive_run_cut_short_after_the_copy_is_finished_by_the_next(make_customer):
    invoice = issued_on(make_customer, date(2024, 1, 15))
    key = invoice["pdf_key"]
    storage().copy(key, "archive/" + key, storage_class="GLACIER_IR", tags={"archived": "true"})
    storage().delete(key)  # the run died here, before recording the new key
    assert invoice["id"] in archive_documents(date(2026, 11, 21))
    with database().transaction() as tx:
        assert tx.value("SELECT pdf_key FROM invoices WHERE id = CAST(:i AS uuid)", i=invoice["id"]) == "archive/" + key


def test_download_with_the_s3_endpoint_stopped_renders_the_pdf_inline(make_customer, monkeypatch):
    from billing.config import settings
    from billing.devstack.s3 import provision, start_moto
    from billing.devstack.services import free_port

    port = free_port()
    server = start_moto(port)
    monkeypatch.setenv("S3_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    settings.cache_clear()
    own = Storage(settings())
    provision(settings())
    monkeypatch.setattr(storage_port, "_default", own)
    try:
        invoice = generate_invoice(make_customer(25_000), Period.month(2026, 10), today=date(2026, 11, 21))
        server.stop()  # the S3 endpoint goes away
        kind, body = pdf_download(Caller(invoice["user_id"], frozenset()), invoice["id"])
    finally:
        monkeypatch.undo()
        settings.cache_clear()
    assert kind == "inline" and body.startswith(b"%PDF")


@pytest.mark.parametrize("seconds,status", [("3600", 302), ("3601", 400), ("0", 400)])
def test_presigned_link_lifetime_is_bounded_to_an_hour(make_customer, seconds, status):
    invoice = issued_on(make_customer, date(2026, 11, 21))
    code, body = api("GET", f"/billing/invoices/{invoice['id']}/pdf", "/billing/invoices/{id}/pdf",
                     claims(invoice["user_id"]), query={"expiresIn": seconds})
    assert code == status
    if status == 400:
        assert body["code"] == "invalid_expiry"
    else:
        assert "X-Amz-Expires=3600" in body["raw"]["headers"]["Location"]


def test_storage_stats_for_one_customer_and_for_all(make_customer):
    invoice = issued_on(make_customer, date(2026, 11, 21))
    user = invoice["user_id"]
    status, mine = api("GET", "/billing/storage/stats", "/billing/storage/stats", claims(ADMIN_ID, admin=True),
                       query={"userId": user})
    size = storage().client.head_object(Bucket=storage().bucket, Key=invoice["pdf_key"])["ContentLength"]
    assert (status, mine["files"], mine["bytes"], mine["averageBytes"]) == (200, 1, size, size)
    everyone = api("GET", "/billing/storage/stats", "/billing/storage/stats", claims(ADMIN_ID, admin=True))[1]
    assert everyone["files"] >= 1 and everyone["bytes"] >= size
    assert api("GET", "/billing/storage/stats", "/billing/storage/stats", claims(user))[1]["code"] == "forbidden"


def test_listing_more_than_a_thousand_keys_pages_through(infra):
    from concurrent.futures import ThreadPoolExecutor

    prefix = "archive/invoices/00000000-0000-4000-8000-00000000beef/"  # outside the ObjectCreated filter
    client = storage().client
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=storage().bucket, Key=f"{prefix}{i:05d}.pdf", Body=b"x"),
                      range(1005)))
    try:
        assert len(storage().list_keys(prefix)) == 1005
    finally:
        for start in range(0, 1005, 1000):
            client.delete_objects(Bucket=storage().bucket, Delete={"Objects": [
                {"Key": f"{prefix}{i:05d}.pdf"} for i in range(start, min(start + 1000, 1005))]})


def test_a_tampered_document_is_flagged_corrupt(make_customer):
    invoice = issued_on(make_customer, date(2026, 11, 21))
    original = storage().get(invoice["pdf_key"])
    storage().client.put_object(Bucket=storage().bucket, Key=invoice["pdf_key"], Body=original.body + b"x",
                                Metadata=original.metadata)
    assert record_stored_document(invoice["pdf_key"]) == "corrupt"
    detail = api("GET", f"/billing/invoices/{invoice['id']}", "/billing/invoices/{id}", claims(invoice["user_id"]))[1]
    assert detail["document"]["recordedAt"] is None
    with database().transaction() as tx:
        assert tx.value("SELECT pdf_corrupt_at FROM invoices WHERE id = CAST(:i AS uuid)", i=invoice["id"])


def test_out_of_order_and_duplicate_events_record_each_document_once(make_customer):
    first, second = (issued_on(make_customer, date(2026, 11, 21)) for _ in range(2))
    outcomes = [record_stored_document(k) for k in (second["pdf_key"], first["pdf_key"], second["pdf_key"],
                                                    first["pdf_key"])]
    assert outcomes == ["recorded", "recorded", "duplicate", "duplicate"]


def test_with_redis_stopped_mid_way_routes_still_answer_and_health_says_cache_down(make_customer, tmp_path,
                                                                                   monkeypatch):
    import billing.ports.cache as cache
    from billing.config import settings
    from billing.devstack.services import free_port

    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
        settings.cache_clear()
        monkeypatch.setattr(cache, "_client", None)
        for _ in range(50):
            if cache.health() is None:
                break
            time.sleep(0.1)
        user = issued_on(make_customer, date(2026, 11, 21))["user_id"]
        listed = api("GET", "/billing/invoices", "/billing/invoices", claims(user))
        assert listed[0] == 200 and len(listed[1]["items"]) == 1  # now cached
        redis.terminate()
        redis.wait(timeout=10)
        again = api("GET", "/billing/invoices", "/billing/invoices", claims(user))
        assert again == listed  # read through to PostgreSQL
        status, health = api("GET", "/billing/health", "/billing/health", None)
        assert (status, health["dependencies"]["cache"]["status"], health["dependencies"]["database"]["status"]) == (
            503, "down", "up")
    finally:
        if redis.poll() is None:
            redis.kill()
        monkeypatch.undo()
        settings.cache_clear()
        cache._client = None
