"""The audit trail: rows written with the change, hash-chained, tamper-evident, readable by admins only."""
from __future__ import annotations

import pg8000.native

from billing.ports.db import connect_kwargs, database
from billing.services.audit import verify_chain
from tests.support import ADMIN_ID, api, claims

OCTOBER = {"type": "monthly", "startDate": "2026-10-01", "endDate": "2026-10-31"}


def test_reads_downloads_changes_and_payments_are_audited_with_actor_and_ip(make_customer):
    user = make_customer(100)
    admin = claims(ADMIN_ID, admin=True)
    invoice = api("POST", "/billing/invoices", "/billing/invoices", claims(user), body={"period": OCTOBER})[1]
    api("GET", f"/billing/invoices/{invoice['id']}", "/billing/invoices/{id}", claims(user))
    api("GET", f"/billing/invoices/{invoice['id']}/pdf", "/billing/invoices/{id}/pdf", claims(user))
    api("POST", f"/billing/invoices/{invoice['id']}/payments", "/billing/invoices/{id}/payments", admin,
        body={"amount": 1080, "currency": "EUR", "provider": "stripe", "providerTransactionId": f"tx-{user}"})
    status, trail = api("GET", "/billing/audit", "/billing/audit", admin, query={"target": invoice["id"]})
    assert status == 200
    actions = [(e["action"], e["actor"]) for e in reversed(trail["items"])]
    assert actions == [("invoice.created", user), ("invoice.issued", user), ("invoice.read", user),
                       ("invoice.read", user), ("invoice.pdf_url", user), ("payment.recorded", ADMIN_ID),
                       ("invoice.status", ADMIN_ID)]
    assert trail["items"][0]["details"] == {"from": "SENT", "to": "PAID"}
    assert all(e["ip"] == "203.0.113.10" and e["userAgent"] == "curl/8.5.0" for e in trail["items"])


def test_customers_cannot_read_the_audit_trail(make_customer):
    user = make_customer()
    status, problem = api("GET", "/billing/audit", "/billing/audit", claims(user), query={"target": user})
    assert (status, problem["code"]) == (403, "forbidden")


def test_the_chain_holds_and_a_tampered_row_is_named(infra, make_customer):
    make_customer(100)  # some rows
    checked, broken = verify_chain()
    assert broken is None and checked > 0
    con = pg8000.native.Connection(**connect_kwargs(infra.database_url))

    def set_actor(seq: int, actor: str) -> None:
        # Only a superuser disabling the append-only trigger can alter a row: the chain still tells.
        con.run("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        con.run("UPDATE audit_events SET actor = :a WHERE seq = :s", a=actor, s=seq)
        con.run("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")

    try:
        seq, actor = con.run("SELECT seq, actor FROM audit_events ORDER BY seq DESC LIMIT 1 OFFSET 1")[0]
        set_actor(seq, "someone-else")
        assert verify_chain()[1] == seq
        set_actor(seq, actor)
        assert verify_chain()[1] is None
    finally:
        con.close()


def test_audit_rows_cannot_be_updated_or_deleted(infra):
    import pytest

    with pytest.raises(pg8000.exceptions.DatabaseError, match="append-only"):
        with database().transaction() as tx:
            tx.execute("DELETE FROM audit_events WHERE seq = (SELECT min(seq) FROM audit_events)")


def test_rows_appended_on_the_server_hash_as_row_hash_does_in_any_session_time_zone(infra):
    from billing.ports.db import Database
    from billing.services.audit import Actor, act_as, record, record_read

    db = Database(infra.database_url)
    try:
        with db.transaction() as tx:  # the server's own setting: a throwaway test server may run with it off
            default = tx.value("SHOW synchronous_commit")
        act_as(Actor("a-user", "2001:db8::1", "Mozilla/5.0 (é)"))
        for zone in ("UTC", "America/New_York", "Asia/Kolkata"):
            with db.transaction() as tx:
                tx.execute(f"SET LOCAL TIME ZONE '{zone}'")
                record(tx, "invoice.list", "customer", "*", status=None, note="Crème brûlée 🍮", count=3)
            record_read("invoice.read", "invoice", "x", db=db, nested={"b": [1, 2.5], "a": None})
        with db.transaction() as tx:
            assert tx.value("SHOW synchronous_commit") == default  # a read's commit skipped the flush, alone
            last = tx.all("SELECT seq, details FROM audit_events ORDER BY seq DESC LIMIT 6")
        assert last[-1]["details"] == {"status": None, "note": "Crème brûlée 🍮", "count": 3}
        assert last[0]["details"] == {"nested": {"b": [1, 2.5], "a": None}}
        assert verify_chain()[1] is None
    finally:
        act_as(Actor("system"))
        db.close()
