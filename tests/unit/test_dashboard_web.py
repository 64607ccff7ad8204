"""The dashboard's edge without a database: its session cookie, verifier, locale, filters, actions and handler."""
from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import uuid
from datetime import date
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest

from billing.config import settings
from billing.devstack.gateway import build_event
from billing.devstack.lambda_runtime import LambdaContext, handler_of
from billing.devstack.template import http_routes, load_template
from billing.domain.caller import Caller
from billing.domain.errors import Forbidden, InvalidPeriod, InvalidRequest, Unauthorized
from billing.services.invoices.search import InvoiceFilter, search_invoices
from billing.web import actions
from billing.web.http import safe_next
from billing.web.session import (COOKIE_NAME, MAX_SESSION_SECONDS, cleared_cookie, session_cookie, session_of,
                                 token_from_cookies, verify_token)
from billing.web.views import amount_due_minor, viewer_locale

ROOT = Path(__file__).resolve().parents[2]
ROUTES = {r.route_key: r for r in http_routes(load_template(ROOT / "template.yaml"), ROOT)}
SECRET = "unit-test-secret-of-a-decent-length-0123456789"
ME = "11111111-1111-4111-8111-111111111111"
CUSTOMER = Caller(ME, frozenset({"billing:read"}))
ADMIN = Caller(ME, frozenset({"billing:read", "billing:admin"}))


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("LOCAL_JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_ISSUER", "twinmcp-unit")
    monkeypatch.setenv("JWT_AUDIENCE", "billing")
    monkeypatch.delenv("JWT_JWKS_URL", raising=False)
    monkeypatch.delenv("BILLING_API_URL", raising=False)
    settings.cache_clear()
    yield
    settings.cache_clear()


def token(*, secret: str = SECRET, alg: str = "HS256", admin: bool = False, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": "twinmcp-unit", "aud": "billing", "sub": ME, "iat": now, "exp": now + 600,
            "scope": "billing:read billing:admin" if admin else "billing:read", **claims}
    return jwt.encode(body, secret, algorithm=alg)


# ---- the verifier ------------------------------------------------------------------------------------------------

def test_a_local_token_gives_its_caller_and_expiry():
    session = session_of(token(admin=True))
    assert (session.caller.user_id, session.caller.is_admin) == (ME, True)
    assert session.expires_at > time.time()


@pytest.mark.parametrize("bad", [
    pytest.param(lambda: token(secret="another-secret-of-a-decent-length-0123456789"), id="wrong_secret"),
    pytest.param(lambda: token(exp=int(time.time()) - 5), id="expired"),
    pytest.param(lambda: token(aud="someone-else"), id="wrong_audience"),
    pytest.param(lambda: token(iss="https://elsewhere/"), id="wrong_issuer"),
    pytest.param(lambda: token(sub="not-a-uuid"), id="subject_not_a_uuid"),
    pytest.param(lambda: token(secret="", alg="none"), id="alg_none"),
    pytest.param(lambda: "x" * 5000, id="oversized"),
    pytest.param(lambda: "", id="empty"),
])
def test_tokens_that_are_not_valid_are_refused(bad):
    with pytest.raises(Unauthorized):
        session_of(bad())


def test_scopes_given_as_a_list_are_understood():
    assert session_of(token(scope=["billing:read", "billing:admin"])).caller.is_admin


# ---- the cookie --------------------------------------------------------------------------------------------------

def test_the_session_cookie_is_http_only_strict_scoped_to_the_dashboard_and_lives_as_long_as_the_token():
    text = str(session_cookie(session_of(token()), secure=True))
    assert text.startswith(f"{COOKIE_NAME}=")
    assert {"HttpOnly", "Secure", "SameSite=Strict", "Path=/dashboard"} <= set(text.split("; "))
    max_age = int(next(p for p in text.split("; ") if p.startswith("Max-Age="))[8:])
    assert 590 <= max_age <= 600


def test_a_long_lived_token_still_gives_a_session_of_at_most_12_hours():
    text = str(session_cookie(session_of(token(exp=int(time.time()) + 30 * 24 * 3600)), secure=False))
    assert f"Max-Age={MAX_SESSION_SECONDS}" in text and "Secure" not in text


def test_signing_out_expires_the_cookie():
    assert "Max-Age=0" in str(cleared_cookie(secure=False))


def test_the_session_token_is_found_among_other_cookies():
    assert token_from_cookies(["theme=dark", f"{COOKIE_NAME}=abc.def.ghi"]) == "abc.def.ghi"
    assert token_from_cookies(None) is None


@pytest.mark.parametrize(("asked", "goes_to"), [
    (f"/dashboard/invoices/{ME}", f"/dashboard/invoices/{ME}"),
    ("/dashboard?status=PAID&from=2026-01-01", "/dashboard?status=PAID&from=2026-01-01"),
    ("//evil.example/dashboard", "/dashboard"),
    ("https://evil.example/", "/dashboard"),
    ("/dashboardx", "/dashboard"),
    ("/billing/invoices", "/dashboard"),
    ("/dashboard/../billing", "/dashboard"),
    (None, "/dashboard"),
])
def test_after_sign_in_only_a_dashboard_page_is_a_destination(asked, goes_to):
    assert safe_next(asked) == goes_to


# ---- what the pages print ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "locale"), [
    ("fr-FR,fr;q=0.9,en;q=0.8", "fr-FR"),
    ("en-GB,en;q=0.9", "en-US"),
    ("de-DE, en;q=0.5", "en-US"),
    ("en;q=0.1, fr;q=0.8", "fr-FR"),
    ("de", "en-US"),
    ("", "en-US"),
    (None, "en-US"),
    ("fr;q=abc, en", "en-US"),
])
def test_amounts_follow_the_browsers_preferred_supported_language(header, locale):
    assert viewer_locale(header) == locale


@pytest.mark.parametrize(("status", "credits", "paid", "due"), [
    ("SENT", 0, 0, 1980), ("SENT", 500, 0, 1480), ("OVERDUE", 500, 1000, 480), ("SENT", 0, 5000, 0),
    ("PAID", 0, 0, 0), ("CANCELLED", 0, 0, 0),
])
def test_the_amount_due_is_what_remains_after_credits_and_payments(status, credits, paid, due):
    invoice = {"status": status, "total_minor": 1980, "credits_applied_minor": credits, "paid_minor": paid}
    assert amount_due_minor(invoice) == due


# ---- search checks, before any database --------------------------------------------------------------------------

@pytest.mark.parametrize(("caller", "filters", "kwargs", "error"), [
    (CUSTOMER, InvoiceFilter(customer="acme"), {}, Forbidden),
    (ADMIN, InvoiceFilter(status="LOST"), {}, InvalidRequest),
    (ADMIN, InvoiceFilter(period_from=date(2026, 6, 1), period_to=date(2026, 1, 1)), {}, InvalidPeriod),
    (ADMIN, InvoiceFilter(customer="x" * 101), {}, InvalidRequest),
    (ADMIN, InvoiceFilter(), {"limit": 101}, InvalidRequest),
    (ADMIN, InvoiceFilter(), {"after": "a", "before": "b"}, InvalidRequest),
    (ADMIN, InvoiceFilter(), {"after": "not-a-cursor"}, InvalidRequest),
    (CUSTOMER, InvoiceFilter(), {"user_id": "22222222-2222-4222-8222-222222222222"}, Forbidden),
])
def test_a_search_that_cannot_be_run_is_refused_before_the_database(caller, filters, kwargs, error):
    with pytest.raises(error):
        search_invoices(caller, filters, **kwargs)


# ---- actions -----------------------------------------------------------------------------------------------------

class FakeOpener:
    """Answers like urllib's opener: a response object, or an HTTPError for 4xx/5xx."""

    def __init__(self, status: int, body: dict[str, Any] | None = None, content_type: str = "application/json"):
        self.status, self.body, self.content_type = status, json.dumps(body or {}).encode(), content_type
        self.requests: list[Any] = []

    def __call__(self, request, timeout=None):
        self.requests.append(request)
        headers = Message()
        headers["Content-Type"] = self.content_type
        if self.status >= 400:
            raise urllib.error.HTTPError(request.full_url, self.status, "", headers, io.BytesIO(self.body))
        response = io.BytesIO(self.body)
        response.status, response.headers = self.status, headers
        return response


class Routes:
    def __init__(self, *present: tuple[str, str]):
        self.present = set(present)

    def has(self, base, method, route):
        return (method, route) in self.present


ALL_ROUTES = Routes(("POST", "/billing/invoices/{id}/send"), ("PATCH", "/billing/invoices/{id}"))


@pytest.mark.parametrize(("caller", "status", "offered"), [
    (ADMIN, "SENT", ["send", "mark-paid", "cancel"]),
    (ADMIN, "OVERDUE", ["send", "mark-paid", "cancel"]),
    (ADMIN, "DRAFT", ["cancel"]),
    (ADMIN, "PAID", ["send"]),
    (ADMIN, "CANCELLED", []),
    (CUSTOMER, "SENT", ["send"]),
])
def test_buttons_follow_the_viewer_and_the_status_machine(caller, status, offered):
    assert [a.name for a in actions.offered(caller, {"status": status}, "http://api", ALL_ROUTES)] == offered


def test_no_button_is_shown_for_a_route_the_api_does_not_have():
    routes = Routes(("POST", "/billing/invoices/{id}/send"))
    assert [a.name for a in actions.offered(ADMIN, {"status": "SENT"}, "http://api", routes)] == ["send"]


@pytest.mark.parametrize(("status", "exists"), [(401, True), (404, False)])
def test_the_route_probe_reads_401_as_present_and_404_as_absent_and_remembers(status, exists):
    opener = FakeOpener(status, {"message": "Unauthorized" if status == 401 else "Not Found"})
    probe = actions.RouteProbe(opener=opener)
    assert probe.has("http://api", "PATCH", "/billing/invoices/{id}") is exists
    assert probe.has("http://api", "PATCH", "/billing/invoices/{id}") is exists
    assert len(opener.requests) == 1
    assert opener.requests[0].get_header("Authorization") is None


def test_an_unreachable_api_shows_no_button_and_is_asked_again():
    calls = []

    def down(request, timeout=None):
        calls.append(request)
        raise urllib.error.URLError("refused")

    probe = actions.RouteProbe(opener=down)
    assert not probe.has("http://api", "PATCH", "/billing/invoices/{id}")
    assert not probe.has("http://api", "PATCH", "/billing/invoices/{id}")
    assert len(calls) == 2


def test_an_action_is_forwarded_with_the_viewers_token_and_body():
    opener = FakeOpener(200, {"status": "CANCELLED"})
    invoice = str(uuid.uuid4())
    reply = actions.forward(actions.ACTIONS["cancel"], invoice, "the.jwt", "http://127.0.0.1:3000", opener)
    [request] = opener.requests
    assert (request.get_method(), request.full_url) == ("PATCH", f"http://127.0.0.1:3000/billing/invoices/{invoice}")
    assert request.get_header("Authorization") == "Bearer the.jwt"
    assert json.loads(request.data) == {"status": "CANCELLED"}
    assert reply.status == 200


def test_a_refusal_reads_as_the_apis_own_sentence():
    reply = actions.forward(actions.ACTIONS["mark-paid"], ME, "t", "http://api", FakeOpener(
        409, {"code": "invalid_transition", "detail": "Cannot move an invoice from CANCELLED to PAID"},
        "application/problem+json"))
    assert (reply.status, actions.message_of(reply)) == (409, "Cannot move an invoice from CANCELLED to PAID")
    assert actions.message_of(actions.Reply(401, "application/json", b'{"message":"Unauthorized"}')) == "Unauthorized"
    assert actions.message_of(actions.Reply(502, "text/html", b"<html>")) == "The billing API answered 502"


@pytest.mark.parametrize(("headers", "domain", "configured", "base"), [
    ({}, "127.0.0.1:3000", None, "http://127.0.0.1:3000"),
    ({"x-forwarded-proto": "https"}, "abc.execute-api.eu-west-3.amazonaws.com", None,
     "https://abc.execute-api.eu-west-3.amazonaws.com"),
    ({}, "billing.twinmcp.example", None, "https://billing.twinmcp.example"),
    ({}, "billing.twinmcp.example", "https://api.twinmcp.example/", "https://api.twinmcp.example"),
])
def test_actions_go_to_the_api_that_served_the_page_unless_configured(headers, domain, configured, base):
    assert actions.api_base(headers, domain, configured) == base


# ---- the handler, in process ---------------------------------------------------------------------------------------

def call(key: str, target: str, *, cookie: str | None = None, body: str = "", headers: dict[str, str] | None = None,
         params: dict[str, str] | None = None) -> dict[str, Any]:
    route = ROUTES[key]
    sent = {"host": "127.0.0.1:3000", **(headers or {})}
    if cookie:
        sent["cookie"] = f"{COOKIE_NAME}={cookie}"
    if body:
        sent["content-type"] = "application/x-www-form-urlencoded"
    event = build_event(route, route.method, target, sent, body.encode(), None, "127.0.0.1", params or {})
    return handler_of(route.function)(event, LambdaContext(route.function))


def text_of(response: dict[str, Any]) -> str:
    body = response.get("body") or ""
    return base64.b64decode(body).decode() if response.get("isBase64Encoded") else body


def test_the_dashboard_without_a_session_sends_the_browser_to_sign_in():
    response = call("GET /dashboard", "/dashboard?status=PAID")
    assert response["statusCode"] == 303
    assert response["headers"]["Location"] == "/dashboard/sign-in?next=%2Fdashboard%3Fstatus%3DPAID"


def test_an_expired_session_is_cleared_and_said_so():
    response = call("GET /dashboard", "/dashboard", cookie=token(exp=int(time.time()) - 5))
    assert response["statusCode"] == 303 and response["headers"]["Location"].endswith("&expired=1")
    assert any("Max-Age=0" in c for c in response["cookies"])


def test_signing_in_sets_the_cookie_and_goes_where_asked():
    form = urlencode({"token": token(), "next": "/dashboard/invoices/6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"})
    response = call("POST /dashboard/session", "/dashboard/session", body=form,
                    headers={"origin": "http://127.0.0.1:3000"})
    assert response["statusCode"] == 303
    assert response["headers"]["Location"] == "/dashboard/invoices/6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
    [cookie] = response["cookies"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_a_bad_token_gets_the_sign_in_page_again_with_the_reason():
    response = call("POST /dashboard/session", "/dashboard/session", body=urlencode({"token": "nope"}))
    assert response["statusCode"] == 401 and "not valid" in text_of(response)
    assert not response.get("cookies")


@pytest.mark.parametrize("headers", [{"origin": "https://evil.example"}, {"origin": "null"},
                                     {"sec-fetch-site": "cross-site"}])
def test_a_post_from_another_site_is_refused(headers):
    response = call("POST /dashboard/session", "/dashboard/session", body=urlencode({"token": token()}),
                    headers=headers)
    assert response["statusCode"] == 403 and not response.get("cookies")


def test_pages_carry_a_strict_content_security_policy_and_no_store():
    response = call("GET /dashboard/sign-in", "/dashboard/sign-in")
    headers = response["headers"]
    assert response["statusCode"] == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"
    assert "<label for=\"token\">Access token</label>" in text_of(response)


def test_filters_that_are_not_valid_are_shown_on_the_page_without_touching_the_database():
    response = call("GET /dashboard", "/dashboard?from=2026-13-01", cookie=token(admin=True))
    assert response["statusCode"] == 400
    assert "These filters cannot be used" in text_of(response)
    assert 'value="2026-13-01"' in text_of(response)  # what was typed stays in the form


def test_an_invoice_id_that_is_not_a_uuid_is_an_error_page():
    response = call("GET /dashboard/invoices/{id}", "/dashboard/invoices/42", cookie=token(),
                    params={"id": "42"})
    assert response["statusCode"] == 400 and "<h1" in text_of(response)


def test_an_action_without_a_session_is_a_401_problem_for_the_script():
    response = call("POST /dashboard/invoices/{id}/actions/{name}", f"/dashboard/invoices/{ME}/actions/cancel",
                    headers={"accept": "application/json"}, params={"id": ME, "name": "cancel"})
    assert response["statusCode"] == 401
    assert response["headers"]["Content-Type"] == "application/problem+json"


def test_static_files_are_the_shipped_ones_only():
    css = call("GET /dashboard/static/{name}", "/dashboard/static/dashboard.css", params={"name": "dashboard.css"})
    assert css["statusCode"] == 200 and css["headers"]["Content-Type"].startswith("text/css")
    for name in ("..%2Fsession.py", "session.py", "missing.js"):
        response = call("GET /dashboard/static/{name}", f"/dashboard/static/{name}", params={"name": name})
        assert response["statusCode"] == 404
