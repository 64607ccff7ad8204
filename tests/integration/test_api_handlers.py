"""The HTTP functions invoked with API Gateway v2 events (from events/) against the real servers."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.support import ADMIN_ID, call, claims, http_event, load_event

OCTOBER = {"type": "monthly", "startDate": "2026-10-01", "endDate": "2026-10-31"}


def admin():
    return claims(ADMIN_ID, admin=True)


def test_sample_create_invoice_event_issues_the_demo_customers_invoice(make_customer, db):
    user = make_customer(25_000)
    event = load_event("http_create_invoice")
    event["body"] = event["body"].replace("5b0f6a3e-1c1a-4d7e-9a51-000000000001", user)
    status, body = call("POST /billing/invoices", event)
    assert status == 201, body
    assert (body["subtotal"], body["tax"], body["total"], body["status"]) == (1650, 330, 1980, "SENT")
    assert [(i["kind"], i["quantity"], i["unitPrice"], i["baseQuantity"], i["amount"]) for i in body["items"]] == [
        ("fee", 1, 900, 1, 900), ("overage", 15_000, 50, 1000, 750)]


def test_customer_creates_own_invoice_without_user_id(make_customer):
    user = make_customer(9_000)
    status, body = call("POST /billing/invoices", http_event(
        "POST", "/billing/invoices", route="/billing/invoices", body={"period": OCTOBER}, caller=claims(user)))
    assert (status, body["userId"], body["total"]) == (201, user, 1080)


def test_put_customer_creates_then_changes_plan(db):
    user = str(uuid.uuid4())
    body = {"name": "Globex", "email": "ap@globex.example",
            "address": {"line1": "1 rue A", "postalCode": "75001", "city": "Paris", "country": "FR"},
            "plan": "BASIC", "interval": "MONTH", "currency": "EUR", "locale": "en-US", "startDate": "2026-01-01"}
    route = "/billing/customers/{userId}"
    status, created = call("PUT " + route, http_event("PUT", f"/billing/customers/{user}", route=route, body=body,
                                                       path_params={"userId": user}, caller=admin()))
    assert (status, created["plan"], created["subscription"]["startDate"]) == (200, "BASIC", "2026-01-01")
    body.update(plan="PREMIUM", startDate="2026-11-01")
    status, changed = call("PUT " + route, http_event("PUT", f"/billing/customers/{user}", route=route, body=body,
                                                       path_params={"userId": user}, caller=admin()))
    assert (status, changed["plan"], changed["subscription"]["startDate"]) == (200, "PREMIUM", "2026-11-01")
    with db.transaction() as tx:
        history = tx.all("SELECT plan_code, status::text AS status, started_on::text AS s, ended_on::text AS e "
                         "FROM subscriptions WHERE user_id = CAST(:u AS uuid) ORDER BY started_on", u=user)
    assert history == [{"plan_code": "BASIC", "status": "ACTIVE", "s": "2026-01-01", "e": "2026-10-31"},
                       {"plan_code": "PREMIUM", "status": "ACTIVE", "s": "2026-11-01", "e": None}]


def test_currency_other_than_the_plans_is_refused(db):
    user = str(uuid.uuid4())
    route = "/billing/customers/{userId}"
    body = {"name": "Yen Co", "email": "a@yen.example", "plan": "BASIC", "currency": "JPY",
            "address": {"line1": "1", "postalCode": "100-0001", "city": "Tokyo", "country": "JP"}}
    status, problem = call("PUT " + route, http_event("PUT", f"/billing/customers/{user}", route=route, body=body,
                                                       path_params={"userId": user}, caller=admin()))
    assert (status, problem["code"]) == (400, "unsupported_currency")


def test_usage_for_an_unknown_customer_writes_nothing(make_customer, db):
    known = make_customer()
    stranger = str(uuid.uuid4())
    events = [{"eventId": f"u-{uuid.uuid4()}", "userId": uid, "timestamp": "2026-10-02T00:00:00Z", "requests": 5}
              for uid in (known, stranger)]
    status, problem = call("POST /billing/usage", http_event("POST", "/billing/usage", route="/billing/usage",
                                                             body={"events": events}, caller=admin()))
    assert (status, problem["code"]) == (404, "unknown_user")
    with db.transaction() as tx:
        assert tx.value("SELECT count(*) FROM usage_logs WHERE user_id = CAST(:u AS uuid)", u=known) == 0


def test_more_than_1000_events_are_refused(infra):
    events = [{"eventId": str(i), "userId": ADMIN_ID, "timestamp": "2026-10-02T00:00:00Z", "requests": 1}
              for i in range(1001)]
    status, problem = call("POST /billing/usage", http_event("POST", "/billing/usage", route="/billing/usage",
                                                             body={"events": events}, caller=admin()))
    assert (status, problem["code"]) == (400, "invalid_events")


def test_get_invoice_is_404_for_another_customer_and_for_unknown_ids(make_customer):
    owner, other = make_customer(100), make_customer(100)
    _, invoice = call("POST /billing/invoices", http_event("POST", "/billing/invoices", route="/billing/invoices",
                                                           body={"period": OCTOBER}, caller=claims(owner)))
    route = "/billing/invoices/{id}"
    for who, invoice_id in ((other, invoice["id"]), (owner, str(uuid.uuid4()))):
        status, problem = call("GET " + route, http_event("GET", f"/billing/invoices/{invoice_id}", route=route,
                                                          path_params={"id": invoice_id}, caller=claims(who)))
        assert (status, problem["code"]) == (404, "invoice_not_found")
    status, mine = call("GET " + route, http_event("GET", f"/billing/invoices/{invoice['id']}", route=route,
                                                   path_params={"id": invoice["id"]}, caller=claims(owner)))
    assert status == 200 and mine["items"][0]["kind"] == "fee"


def test_list_pages_with_a_cursor_and_filters_by_status(make_customer):
    user = make_customer(100)
    for month in (7, 8, 9):
        period = {"type": "monthly", "startDate": f"2026-{month:02d}-01",
                  "endDate": f"2026-{month:02d}-{30 if month == 9 else 31}"}
        assert call("POST /billing/invoices", http_event("POST", "/billing/invoices", route="/billing/invoices",
                                                         body={"period": period}, caller=claims(user)))[0] == 201
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = call("GET /billing/invoices", http_event("GET", "/billing/invoices", route="/billing/invoices",
                                                                query=query, caller=claims(user)))
        assert status == 200
        seen += [i["period"]["startDate"] for i in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == ["2026-09-01", "2026-08-01", "2026-07-01"]
    status, paid = call("GET /billing/invoices", http_event("GET", "/billing/invoices", route="/billing/invoices",
                                                            query={"status": "PAID"}, caller=claims(user)))
    assert (status, paid["items"]) == (200, [])


@pytest.mark.parametrize("query,code", [({"cursor": "garbage"}, "invalid_cursor"), ({"limit": "0"}, "invalid_limit"),
                                        ({"status": "LOST"}, "invalid_status"), ({"userId": "x"}, "invalid_user_id")])
def test_list_rejects_bad_query_parameters(infra, query, code):
    status, problem = call("GET /billing/invoices", http_event("GET", "/billing/invoices", route="/billing/invoices",
                                                               query=query, caller=admin()))
    assert (status, problem["code"]) == (400, code)


def test_customer_listing_another_customers_invoices_is_forbidden(make_customer):
    user = make_customer()
    status, problem = call("GET /billing/invoices", http_event(
        "GET", "/billing/invoices", route="/billing/invoices", query={"userId": str(uuid.uuid4())}, caller=claims(user)))
    assert (status, problem["code"]) == (403, "forbidden")


def test_customers_invoice_calendar_months_only(make_customer):
    user = make_customer(100)
    period = {"type": "custom", "startDate": "2026-10-01", "endDate": "2026-10-01"}
    status, problem = call("POST /billing/invoices", http_event("POST", "/billing/invoices", route="/billing/invoices",
                                                                body={"period": period}, caller=claims(user)))
    assert (status, problem["code"]) == (403, "forbidden")


def test_a_caller_over_the_rate_limit_gets_429_with_retry_after(make_customer, monkeypatch):
    from billing.config import settings

    user = make_customer()
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "3")
    settings.cache_clear()
    try:
        replies = [call("GET /billing/invoices", http_event("GET", "/billing/invoices", route="/billing/invoices",
                                                             caller=claims(user))) for _ in range(4)]
        other = call("GET /billing/invoices", http_event("GET", "/billing/invoices", route="/billing/invoices",
                                                          caller=claims(str(uuid.uuid4()))))
    finally:
        monkeypatch.undo()
        settings.cache_clear()
    statuses = [status for status, _ in replies]
    if statuses[3] == 200:  # the minute turned over between the calls: the window restarted
        pytest.skip("the one-minute window rolled over mid-test")
    assert statuses == [200, 200, 200, 429] and other[0] == 200
    assert replies[3][1]["code"] == "rate_limited" and 1 <= replies[3][1]["retryAfter"] <= 60
