"""The local HTTP API emulator without a socket: v2 events, route patterns from template.yaml, HS256 tokens."""
from __future__ import annotations

import base64
import dataclasses
import json
import time
from pathlib import Path

import jwt
import pytest

from billing.config import Settings
from billing.devstack.gateway import Gateway, build_event
from billing.devstack.template import Route, http_routes, load_template
from billing.devstack.tokens import make_token, verify_token

ROOT = Path(__file__).resolve().parents[2]
ROUTES = http_routes(load_template(ROOT / "template.yaml"), ROOT)
BY_KEY = {route.route_key: route for route in ROUTES}
USER = "11111111-1111-4111-8111-111111111111"


def route(key: str) -> Route:
    return BY_KEY[key]


def event_for(target: str, *, method: str = "GET", key: str = "GET /billing/invoices", headers=None, body=b"",
              claims=None, params=None) -> dict:
    return build_event(route(key), method, target, headers or {}, body, claims, "127.0.0.1", params or {})


# ---- build_event ---------------------------------------------------------------------------------------------

def test_event_is_http_api_v2_with_the_route_key_and_raw_path():
    event = event_for("/billing/invoices?status=SENT&limit=5")
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /billing/invoices"
    assert event["requestContext"]["routeKey"] == "GET /billing/invoices"
    assert event["rawPath"] == "/billing/invoices"
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["path"] == "/billing/invoices"
    assert event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"


def test_raw_query_string_is_kept_as_sent():
    assert event_for("/billing/invoices?status=SENT&limit=5")["rawQueryString"] == "status=SENT&limit=5"


def test_query_parameters_are_decoded_and_repeated_keys_joined_by_commas():
    event = event_for("/billing/invoices?status=SENT&tag=a&tag=b%20c&cursor=")
    assert event["queryStringParameters"] == {"status": "SENT", "tag": "a,b c", "cursor": ""}


def test_no_query_string_means_no_query_parameters():
    event = event_for("/billing/invoices")
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event


def test_path_parameters_are_passed_through():
    event = event_for("/billing/invoices/abc/pdf", key="GET /billing/invoices/{id}/pdf", params={"id": "abc"})
    assert event["pathParameters"] == {"id": "abc"}


def test_a_binary_body_is_base64_encoded():
    pdf = b"%PDF-1.7\n\x00\xff\xfe binary"
    event = event_for("/billing/invoices", method="POST", key="POST /billing/invoices",
                      headers={"content-type": "application/pdf"}, body=pdf)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == pdf


def test_a_json_body_is_kept_as_text():
    text = json.dumps({"period": {"startDate": "2026-10-01", "endDate": "2026-10-31"}, "note": "équipe"})
    event = event_for("/billing/invoices", method="POST", key="POST /billing/invoices",
                      headers={"content-type": "application/json; charset=utf-8"}, body=text.encode())
    assert event["isBase64Encoded"] is False
    assert event["body"] == text


def test_a_text_typed_body_that_is_not_utf8_is_base64_encoded():
    raw = b"\xff\xfe{}"
    event = event_for("/billing/invoices", method="POST", key="POST /billing/invoices",
                      headers={"content-type": "application/json"}, body=raw)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_no_body_means_no_body_field_and_not_base64():
    event = event_for("/billing/invoices")
    assert "body" not in event
    assert event["isBase64Encoded"] is False


def test_cookies_are_split_from_the_cookie_header_and_removed_from_headers():
    event = event_for("/billing/invoices", headers={"cookie": "a=1; b=2;  ;c=3", "accept": "application/json"})
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert event["headers"] == {"accept": "application/json"}


def test_claims_are_stringified_under_the_jwt_authorizer():
    claims = {"sub": USER, "exp": 1_800_000_000, "email_verified": True, "scope": "billing:read"}
    event = event_for("/billing/invoices", claims=claims)
    assert event["requestContext"]["authorizer"]["jwt"]["claims"] == {
        "sub": USER, "exp": "1800000000", "email_verified": "True", "scope": "billing:read",
    }


def test_no_claims_means_no_authorizer_block():
    assert "authorizer" not in event_for("/billing/invoices", claims=None)["requestContext"]


# ---- routes from template.yaml -------------------------------------------------------------------------------

def matching(method: str, path: str) -> list[str]:
    return [r.route_key for r in ROUTES if r.pattern.match(path) and r.method in (method, "ANY")]


def test_the_pdf_path_matches_the_pdf_route_and_not_the_get_route():
    assert matching("GET", "/billing/invoices/abc/pdf") == ["GET /billing/invoices/{id}/pdf"]


def test_the_invoice_path_matches_the_get_route_with_its_id():
    assert matching("GET", "/billing/invoices/abc") == ["GET /billing/invoices/{id}"]
    assert route("GET /billing/invoices/{id}").pattern.match("/billing/invoices/abc").groupdict() == {"id": "abc"}


@pytest.mark.parametrize("path", ["/billing/invoices/", "/billing/invoices/a/b", "/billing/invoicesX",
                                  "/billing/invoices/abc/pdf/", "/other/billing/invoices"])
def test_route_patterns_match_whole_paths_only(path):
    assert not any(r.pattern.match(path) for r in ROUTES if r.path.startswith("/billing/invoices"))


def test_routes_with_fewer_path_parameters_come_first():
    counts = [r.path.count("{") for r in ROUTES]
    assert counts == sorted(counts)
    assert counts[0] == 0 and counts[-1] > 0


def test_gateway_match_prefers_the_literal_route_and_404s_an_unrouted_method():
    gateway = Gateway.__new__(Gateway)  # no __init__: it would bind a server socket
    gateway.routes = ROUTES
    found, params = gateway.match("GET", "/billing/invoices/abc/pdf")
    assert (found.route_key, params) == ("GET /billing/invoices/{id}/pdf", {"id": "abc"})
    assert gateway.match("DELETE", "/billing/invoices") == (None, {})
    assert gateway.match("GET", "/nowhere") == (None, {})


def test_a_route_with_authorizer_none_is_public_and_others_need_a_token():
    assert not route("GET /billing/health").authorized
    assert route("POST /billing/invoices").authorized and route("GET /billing/invoices/{id}").authorized


# ---- local tokens --------------------------------------------------------------------------------------------

@pytest.fixture()
def cfg(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("LOCAL_JWT_SECRET", "unit-test-secret-of-a-decent-length-0123456789")
    monkeypatch.setenv("JWT_ISSUER", "twinmcp-unit")
    monkeypatch.setenv("JWT_AUDIENCE", "billing-unit")
    return Settings.from_env()


def test_a_token_round_trips_with_subject_issuer_audience_and_read_scope(cfg):
    claims = verify_token(cfg, make_token(cfg, USER))
    assert (claims["sub"], claims["iss"], claims["aud"]) == (USER, "twinmcp-unit", "billing-unit")
    assert claims["scope"].split() == ["billing:read"]


def test_an_admin_token_carries_the_admin_scope(cfg):
    assert "billing:admin" in verify_token(cfg, make_token(cfg, USER, admin=True))["scope"].split()


def test_an_expired_token_is_rejected(cfg):
    with pytest.raises(jwt.InvalidTokenError):
        verify_token(cfg, make_token(cfg, USER, ttl=-10))


def test_a_token_signed_with_another_secret_is_rejected(cfg):
    token = make_token(dataclasses.replace(cfg, local_jwt_secret="another-secret-of-a-decent-length-9876543210"), USER)
    with pytest.raises(jwt.InvalidTokenError):
        verify_token(cfg, token)


def test_a_token_for_another_audience_is_rejected(cfg):
    token = make_token(dataclasses.replace(cfg, jwt_audience="someone-else"), USER)
    with pytest.raises(jwt.InvalidTokenError):
        verify_token(cfg, token)


def test_a_token_from_another_issuer_is_rejected(cfg):
    token = make_token(dataclasses.replace(cfg, jwt_issuer="https://evil.example"), USER)
    with pytest.raises(jwt.InvalidTokenError):
        verify_token(cfg, token)


def unsigned(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_an_unsigned_alg_none_token_is_rejected(cfg):
    now = int(time.time())
    token = unsigned({"iss": cfg.jwt_issuer, "aud": cfg.jwt_audience, "sub": USER, "iat": now, "exp": now + 600,
                      "scope": "billing:read billing:admin"})
    with pytest.raises(jwt.InvalidTokenError):
        verify_token(cfg, token)


def test_a_token_without_a_subject_is_rejected(cfg):
    now = int(time.time())
    token = jwt.encode({"iss": cfg.jwt_issuer, "aud": cfg.jwt_audience, "iat": now, "exp": now + 600},
                       cfg.local_jwt_secret, algorithm="HS256")
    with pytest.raises(jwt.InvalidTokenError):
        verify_token(cfg, token)


def test_array_claims_reach_the_handler_as_the_cloud_authorizer_sends_them():
    route = next(r for r in ROUTES if r.route_key == "GET /billing/invoices")
    event = build_event(route, "GET", "/billing/invoices", {}, b"", {"sub": "u", "scope": ["billing:read", "billing:admin"]},
                        "127.0.0.1", {})
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["scope"] == "[billing:read billing:admin]"
