"""The real HTTP handlers, in process, on requests refused before any database or bucket access.

The autouse socket guard of tests/unit/conftest.py makes a handler that reaches PostgreSQL, Redis or S3 answer
500 instead of the expected 4xx, so each test here also proves the refusal happens at the edge.
"""
from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from billing.config import Settings
from billing.devstack.gateway import build_event
from billing.devstack.lambda_runtime import LambdaContext, handler_of
from billing.devstack.template import http_routes, load_template
from billing.devstack.tokens import make_token, verify_token

ROOT = Path(__file__).resolve().parents[2]
ROUTES = {route.route_key: route for route in http_routes(load_template(ROOT / "template.yaml"), ROOT)}
PROBLEM = "application/problem+json"
MAX_BODY_BYTES = 256 * 1024  # DESIGN: bodies are bounded; the handlers refuse more with 413

ME = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("LOCAL_JWT_SECRET", "unit-test-secret-of-a-decent-length-0123456789")
    monkeypatch.setenv("JWT_ISSUER", "twinmcp-unit")
    monkeypatch.setenv("JWT_AUDIENCE", "billing")


def claims_of(user_id: str, *, admin: bool = False) -> dict[str, Any]:
    """What the JWT authorizer hands over for a token of the local stack."""
    cfg = Settings.from_env()
    return verify_token(cfg, make_token(cfg, user_id, admin=admin))


def customer() -> dict[str, Any]:
    return claims_of(ME)


def admin() -> dict[str, Any]:
    return claims_of(ME, admin=True)


def call(key: str, target: str, *, claims: dict[str, Any] | None, params: dict[str, str] | None = None,
         body: bytes | str | dict = b"", content_type: str = "application/json") -> dict[str, Any]:
    route = ROUTES[key]
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    event = build_event(route, route.method, target, {"content-type": content_type}, body, claims, "127.0.0.1",
                        params or {})
    return handler_of(route.function)(event, LambdaContext(route.function))


def problem(response: dict[str, Any], status: int, code: str | None = None) -> dict[str, Any]:
    """Asserts an application/problem+json answer with this status (and code); returns its body."""
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    assert (response["statusCode"], headers.get("content-type")) == (status, PROBLEM), body
    payload = json.loads(body)
    assert {"code", "status", "title", "detail"} <= payload.keys()
    assert payload["status"] == status
    assert all(isinstance(payload[k], str) and payload[k] for k in ("code", "title", "detail"))
    if code is not None:
        assert payload["code"] == code, payload
    return payload


def period(start: str, end: str, kind: str = "custom") -> dict[str, str]:
    return {"type": kind, "startDate": start, "endDate": end}


def usage_event(**changes: Any) -> dict[str, Any]:
    return {"eventId": "evt-1", "userId": OTHER, "timestamp": "2026-10-05T12:00:00+00:00", "requests": 10,
            **changes}


# ---- authentication ------------------------------------------------------------------------------------------

def authenticated_routes():
    for key, route in sorted(ROUTES.items()):
        if not route.authorized:
            continue
        names = [part[1:-1] for part in route.path.split("/") if part.startswith("{")]
        params = {name: str(uuid.uuid4()) for name in names}
        target = route.path.format(**params)
        yield pytest.param(key, target, params, id=key)


@pytest.mark.parametrize(("key", "target", "params"), list(authenticated_routes()))
def test_request_without_claims_is_401_unauthorized(key, target, params):
    problem(call(key, target, claims=None, params=params), 401, "unauthorized")


def test_token_whose_subject_is_not_a_uuid_is_401_unauthorized():
    claims = {**customer(), "sub": "not-a-uuid"}
    problem(call("POST /billing/invoices", "/billing/invoices", claims=claims,
                 body={"period": period("2026-10-01", "2026-10-31", "monthly")}), 401, "unauthorized")


# ---- customers -----------------------------------------------------------------------------------------------

CUSTOMER_BODY = {"name": "Ada", "email": "ada@example.org", "plan": "BASIC",
                 "address": {"line1": "1 rue X", "postalCode": "75001", "city": "Paris", "country": "FR"}}


def test_customer_putting_a_customer_profile_is_403_forbidden():
    problem(call("PUT /billing/customers/{userId}", f"/billing/customers/{ME}", claims=customer(),
                 params={"userId": ME}, body=CUSTOMER_BODY), 403, "forbidden")


def test_admin_putting_a_customer_with_a_user_id_that_is_not_a_uuid_is_400_invalid_user_id():
    problem(call("PUT /billing/customers/{userId}", "/billing/customers/not-a-uuid", claims=admin(),
                 params={"userId": "not-a-uuid"}, body=CUSTOMER_BODY), 400, "invalid_user_id")


def test_admin_putting_a_customer_with_malformed_json_is_400_invalid_json():
    problem(call("PUT /billing/customers/{userId}", f"/billing/customers/{OTHER}", claims=admin(),
                 params={"userId": OTHER}, body='{"name": "Ada",'), 400, "invalid_json")


# ---- usage ---------------------------------------------------------------------------------------------------

def test_customer_posting_usage_is_403_forbidden():
    problem(call("POST /billing/usage", "/billing/usage", claims=customer(), body={"events": [usage_event()]}),
            403, "forbidden")


def test_admin_posting_usage_with_an_unknown_top_level_field_is_400_naming_it():
    payload = problem(call("POST /billing/usage", "/billing/usage", claims=admin(),
                           body={"events": [usage_event()], "source": "bench"}), 400)
    assert "source" in [error["field"] for error in payload["errors"]]


@pytest.mark.parametrize("body", [
    {"events": [usage_event(region="eu")]},                                 # unknown field in an event
    {"events": []},                                                        # nothing to record
    {"events": [usage_event(requests=0)]},                                 # requests must be >= 1
    {"events": [usage_event(requests="10")]},                              # a string is not a count
    {"events": [usage_event(timestamp="2026-10-05T12:00:00")]},            # no time zone
    {"events": [usage_event(userId="not-a-uuid")]},
], ids=["unknown-field", "empty", "zero-requests", "string-requests", "naive-timestamp", "bad-user-id"])
def test_admin_posting_invalid_usage_events_is_400(body):
    problem(call("POST /billing/usage", "/billing/usage", claims=admin(), body=body), 400)


def test_admin_posting_usage_with_a_scope_claim_in_bracket_form_is_still_an_admin():
    # HTTP API hands array claims over as "[a b]": the admin must still pass require_admin and reach validation.
    claims = {**admin(), "scope": "[billing:read billing:admin]"}
    problem(call("POST /billing/usage", "/billing/usage", claims=claims, body={"events": []}), 400)


# ---- creating invoices ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("claims", [customer, admin])
def test_period_ending_before_it_starts_is_400_invalid_period(claims):
    problem(call("POST /billing/invoices", "/billing/invoices", claims=claims(),
                 body={"period": period("2026-10-31", "2026-10-01")}), 400, "invalid_period")


def test_period_of_367_days_is_400_invalid_period():
    # 2027 has 365 days: 1 Jan 2027 to 2 Jan 2028 inclusive is 367.
    problem(call("POST /billing/invoices", "/billing/invoices", claims=customer(),
                 body={"period": period("2027-01-01", "2028-01-02")}), 400, "invalid_period")


def test_monthly_period_that_is_not_a_calendar_month_is_400_invalid_period():
    problem(call("POST /billing/invoices", "/billing/invoices", claims=customer(),
                 body={"period": period("2026-10-15", "2026-11-14", "monthly")}), 400, "invalid_period")


def test_unknown_period_type_is_400_invalid_period():
    problem(call("POST /billing/invoices", "/billing/invoices", claims=customer(),
                 body={"period": period("2026-10-01", "2026-10-07", "weekly")}), 400, "invalid_period")


def test_customer_creating_an_invoice_for_another_user_is_403_forbidden():
    problem(call("POST /billing/invoices", "/billing/invoices", claims=customer(),
                 body={"userId": OTHER, "period": period("2026-10-01", "2026-10-31", "monthly")}), 403, "forbidden")


def test_admin_creating_an_invoice_for_a_user_id_that_is_not_a_uuid_is_400_invalid_user_id():
    problem(call("POST /billing/invoices", "/billing/invoices", claims=admin(),
                 body={"userId": "not-a-uuid", "period": period("2026-10-01", "2026-10-31", "monthly")}),
            400, "invalid_user_id")


@pytest.mark.parametrize("body", ["", "   ", '{"period": ', "not json"], ids=["empty", "blank", "cut", "text"])
def test_creating_an_invoice_without_a_json_body_is_400_invalid_json(body):
    problem(call("POST /billing/invoices", "/billing/invoices", claims=customer(), body=body), 400, "invalid_json")


def padded(payload: dict[str, Any], size: int) -> bytes:
    """Valid JSON of exactly `size` bytes: the payload followed by blanks."""
    text = json.dumps(payload).encode()
    return text + b" " * (size - len(text))


def test_body_over_256_kb_is_413_payload_too_large():
    body = padded({"period": period("2026-10-01", "2026-10-31", "monthly")}, MAX_BODY_BYTES + 1)
    problem(call("POST /billing/invoices", "/billing/invoices", claims=customer(), body=body),
            413, "payload_too_large")


def test_base64_body_over_256_kb_once_decoded_is_413_payload_too_large():
    body = padded({"period": period("2026-10-01", "2026-10-31", "monthly")}, MAX_BODY_BYTES + 1)
    problem(call("POST /billing/invoices", "/billing/invoices", claims=customer(), body=body,
                 content_type="application/octet-stream"), 413, "payload_too_large")


def test_body_of_exactly_256_kb_is_read_and_validated():
    body = padded({"period": period("2026-10-31", "2026-10-01")}, MAX_BODY_BYTES)
    problem(call("POST /billing/invoices", "/billing/invoices", claims=customer(), body=body), 400, "invalid_period")


# ---- reading invoices ----------------------------------------------------------------------------------------

def test_getting_an_invoice_whose_id_is_not_a_uuid_is_400_invalid_invoice_id():
    problem(call("GET /billing/invoices/{id}", "/billing/invoices/not-a-uuid", claims=customer(),
                 params={"id": "not-a-uuid"}), 400, "invalid_invoice_id")


def test_downloading_the_pdf_of_an_invoice_whose_id_is_not_a_uuid_is_400_invalid_invoice_id():
    problem(call("GET /billing/invoices/{id}/pdf", "/billing/invoices/1%27%20OR%201=1/pdf", claims=customer(),
                 params={"id": "1' OR 1=1"}), 400, "invalid_invoice_id")


@pytest.mark.parametrize(("query", "code"), [
    ("limit=0", "invalid_limit"),
    ("limit=101", "invalid_limit"),
    ("limit=ten", "invalid_limit"),
    ("status=ARCHIVED", "invalid_status"),
    ("userId=not-a-uuid", "invalid_user_id"),
    ("cursor=not-a-cursor", "invalid_cursor"),
    ("sort=asc", "invalid_request"),
])
def test_listing_invoices_with_a_bad_query_is_400(query, code):
    problem(call("GET /billing/invoices", f"/billing/invoices?{query}", claims=admin()), 400, code)


def test_customer_listing_another_users_invoices_is_403_forbidden():
    problem(call("GET /billing/invoices", f"/billing/invoices?userId={OTHER}", claims=customer()), 403, "forbidden")
