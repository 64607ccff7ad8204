"""GET /billing/invoices with its page cache: a cached page answers what the database would, is audited, holds no
personal data, and goes stale with a write."""
from __future__ import annotations

import json

import pytest

from tests.support import ADMIN_ID, api, claims

OCTOBER = {"type": "monthly", "startDate": "2026-10-01", "endDate": "2026-10-31"}
SEPTEMBER = {"type": "monthly", "startDate": "2026-09-01", "endDate": "2026-09-30"}


@pytest.fixture
def uncached(monkeypatch):
    """Runs a callable with the list cache off (every page from PostgreSQL)."""
    from billing.config import settings

    def run(fn):
        monkeypatch.setenv("LIST_CACHE_SECONDS", "0")
        settings.cache_clear()
        try:
            return fn()
        finally:
            monkeypatch.delenv("LIST_CACHE_SECONDS")
            settings.cache_clear()
    return run


def _list(user: str, **query: str):
    return api("GET", "/billing/invoices", "/billing/invoices", claims(user), query=query or None)


def _list_reads(db, user: str) -> list[dict]:
    with db.transaction() as tx:
        return [r["details"] for r in tx.all(
            "SELECT details FROM audit_events WHERE action = 'invoice.list' AND target_id = :t ORDER BY seq", t=user)]


def test_a_cached_page_is_the_page_from_the_database_audited_on_every_read_and_without_personal_data(
        make_customer, db, uncached):
    from billing.ports import cache

    user = make_customer(100, name="Zébulon Martin", email="zebulon@martin.example")
    for period in (SEPTEMBER, OCTOBER):
        assert api("POST", "/billing/invoices", "/billing/invoices", claims(user), body={"period": period})[0] == 201
    first, again = _list(user, limit="1"), _list(user, limit="1")  # the second from the cache
    fresh = uncached(lambda: _list(user, limit="1"))
    assert first == again == fresh and first[0] == 200
    assert [i["period"]["startDate"] for i in first[1]["items"]] == ["2026-10-01"] and first[1]["nextCursor"]
    follow = _list(user, limit="1", cursor=first[1]["nextCursor"])
    assert follow == uncached(lambda: _list(user, limit="1", cursor=first[1]["nextCursor"]))
    assert [i["period"]["startDate"] for i in follow[1]["items"]] == ["2026-09-01"] and follow[1]["nextCursor"] is None

    # Each read is audited with what it found (the page and the one row that tells there is a next page).
    assert _list_reads(db, user)[:3] == [{"status": None, "cursor": None, "count": 2}] * 3

    from billing.api.models import InvoicePage

    entry = cache.cache().get(cache._ns(f"invoices:page:{InvoicePage.items_shape()}:{user}:None:1:None"))
    assert entry is not None  # the rendered page is what is kept
    text = entry.decode()
    assert "Zébulon" not in text and "zebulon" not in text and "enc:v" not in text and "buyer" not in text
    assert json.loads(text.split("\n", 2)[2]) == first[1]["items"]


def test_a_write_to_an_invoice_makes_its_customers_cached_pages_stale(make_customer):
    user = make_customer(100)
    status, invoice = api("POST", "/billing/invoices", "/billing/invoices", claims(user), body={"period": OCTOBER})
    assert status == 201
    before = _list(user)
    admin_before = api("GET", "/billing/invoices", "/billing/invoices", claims(ADMIN_ID, admin=True),
                       query={"userId": user})
    assert before[1]["items"][0]["notes"] is None and admin_before[1]["items"][0]["notes"] is None
    assert api("PATCH", f"/billing/invoices/{invoice['id']}", "/billing/invoices/{id}", claims(ADMIN_ID, admin=True),
               body={"notes": "Payé par virement"})[0] == 200
    assert _list(user)[1]["items"][0]["notes"] == "Payé par virement"
    assert api("GET", "/billing/invoices", "/billing/invoices", claims(ADMIN_ID, admin=True),
               query={"userId": user})[1]["items"][0]["notes"] == "Payé par virement"


def test_a_page_rendered_in_another_shape_is_never_served(make_customer):
    # After a deploy that changes what a page looks like, the new code must not serve the old code's pages.
    from billing.domain.caller import Caller
    from billing.services.invoices.query import list_invoices

    user = make_customer(100)
    assert api("POST", "/billing/invoices", "/billing/invoices", claims(user), body={"period": OCTOBER})[0] == 201
    me = Caller(user, frozenset({"billing:read"}))

    def listed(shape: str) -> str:
        return list_invoices(me, user_id=None, status=None, limit=5, cursor=None, shape=shape,
                             render=lambda rows: json.dumps({"shape": shape, "ids": [r["id"] for r in rows]}))[0]

    old, new = listed("old-shape"), listed("new-shape")
    assert json.loads(old)["shape"] == "old-shape" and json.loads(new)["shape"] == "new-shape"
    assert listed("new-shape") == new  # and each shape is cached on its own

