"""Every route of template.yaml, walked with no token, bad tokens, another customer's token and an admin's."""
from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest

from billing.devstack.template import http_routes, load_template
from tests.e2e.conftest import http, local_stack
from tests.support import ROOT

ROUTES = http_routes(load_template(ROOT / "template.yaml"), ROOT)
PROTECTED = [r for r in ROUTES if r.authorized]
# What a customer gets on someone else's data, per route: 404 where existence would leak, 403 for the rest.
OTHERS = {
    "GET /billing/invoices": 403, "POST /billing/invoices": 403, "GET /billing/invoices/{id}": 404,
    "GET /billing/invoices/{id}/pdf": 404, "POST /billing/invoices/{id}/send": 404,
    "PATCH /billing/invoices/{id}": 403, "POST /billing/invoices/{id}/payments": 403,
    "PUT /billing/customers/{userId}": 403, "POST /billing/customers/{userId}/credits": 403,
    "POST /billing/usage": 403, "GET /billing/alerts": 403, "GET /billing/audit": 403,
    "GET /billing/storage/stats": 403, "GET /billing/users/{id}/export": 404, "DELETE /billing/users/{id}": 404,
    "POST /billing/users/{id}/consents": 404,
}


@pytest.fixture(scope="module")
def walk(infra, tmp_path_factory):
    with local_stack(infra, tmp_path_factory.mktemp("authz-stack"), "billing_e2e_authz") as stack:
        invoices = http("GET", f"{stack['baseUrl']}/billing/invoices?limit=1", token=stack["adminToken"]).json()
        yield {**stack, "invoice": invoices["items"][0]}


def request_for(route, walk, who: str | None):
    invoice = walk["invoice"]
    person = route.path.startswith("/billing/users/")
    path = route.path.replace("{id}", invoice["userId"] if person else invoice["id"]).replace("{userId}", invoice["userId"])
    bodies = {
        "POST /billing/invoices": {"userId": invoice["userId"],
                                   "period": {"type": "monthly", "startDate": "2026-09-01", "endDate": "2026-09-30"}},
        "PATCH /billing/invoices/{id}": {"notes": "x"},
        "POST /billing/invoices/{id}/payments": {"amount": 1, "currency": "EUR", "provider": "stripe",
                                                 "providerTransactionId": str(uuid.uuid4())},
        "PUT /billing/customers/{userId}": {"name": "X", "email": "x@x.example", "plan": "BASIC", "address": {
            "line1": "1", "postalCode": "1", "city": "c", "country": "FR"}},
        "POST /billing/customers/{userId}/credits": {"amount": 1, "currency": "EUR", "type": "ADJUSTMENT", "reason": "x"},
        "POST /billing/users/{id}/consents": {"purpose": "terms", "granted": True},
        "POST /billing/usage": {"events": [{"eventId": str(uuid.uuid4()), "userId": invoice["userId"],
                                            "timestamp": "2026-10-01T00:00:00Z", "requests": 1}]},
    }
    queries = {"GET /billing/invoices": f"?userId={invoice['userId']}", "GET /billing/alerts": f"?userId={invoice['userId']}",
               "GET /billing/audit": f"?target={invoice['id']}", "GET /billing/storage/stats": ""}
    url = walk["baseUrl"] + path + queries.get(route.route_key, "")
    return http(route.method, url, token=who, body=bodies.get(route.route_key))


def bad_tokens(user: str) -> dict[str, str | None]:
    now = int(time.time())
    good = {"iss": "twinmcp-local", "aud": "billing", "sub": user, "scope": "billing:read billing:admin"}
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps({**good, "exp": now + 60}).encode()).rstrip(b"=").decode()
    return {
        "none": None,
        "expired": jwt.encode({**good, "exp": now - 10}, "local-dev-secret", algorithm="HS256"),
        "wrong_signature": jwt.encode({**good, "exp": now + 60}, "not-the-secret-at-all-32-bytes-long", algorithm="HS256"),
        "alg_none": f"{header}.{payload}.",
    }


def test_every_protected_route_is_in_the_table():
    assert {r.route_key for r in PROTECTED} == set(OTHERS)


@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: r.route_key)
def test_bad_tokens_get_401_on_every_route(walk, route):
    for name, token in bad_tokens(str(uuid.uuid4())).items():
        reply = request_for(route, walk, token)
        assert reply.status == 401, (name, reply.status, reply.body[:200])


@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: r.route_key)
def test_another_customer_is_refused_without_learning_anything(walk, route):
    someone = str(uuid.uuid4())
    token = jwt.encode({"iss": "twinmcp-local", "aud": "billing", "sub": someone, "scope": "billing:read",
                        "exp": int(time.time()) + 60}, "local-dev-secret", algorithm="HS256")
    reply = request_for(route, walk, token)
    assert reply.status == OTHERS[route.route_key], reply.body[:300]
    assert walk["invoice"]["userId"] not in reply.body.decode() or reply.status == 404 and b"invoice_not_found" in reply.body


@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: r.route_key)
def test_an_admin_is_let_through(walk, route):
    reply = request_for(route, walk, walk["adminToken"])
    assert reply.status not in (401, 403), reply.body[:300]
    assert reply.status < 500, reply.body[:300]
