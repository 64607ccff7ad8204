"""The deployed dashboard's sign-in: RS256 tokens checked against an identity provider's JWKS, served here by
a real HTTP server (billing.web.session with JWT_JWKS_URL set)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from billing.config import settings
from billing.devstack.services import free_port
from billing.domain.errors import DependencyUnavailable, Unauthorized
from billing.web.session import session_of, verify_token

SECRET = "integration-test-secret-of-a-decent-length-0123"
ME = "11111111-1111-4111-8111-111111111111"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LOCAL_JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_ISSUER", "twinmcp-unit")
    monkeypatch.setenv("JWT_AUDIENCE", "billing")
    settings.cache_clear()
    yield
    settings.cache_clear()


def token(**claims: Any) -> str:
    """What the local stack signs: HS256 with LOCAL_JWT_SECRET."""
    now = int(time.time())
    return jwt.encode({"iss": "twinmcp-unit", "aud": "billing", "sub": ME, "iat": now, "exp": now + 600, **claims},
                      SECRET, algorithm="HS256")


@pytest.fixture(scope="module")
def identity_provider():
    """A real HTTP server publishing an RSA key (and an EC key the dashboard must not accept) as a JWKS, as Cognito
    or Auth0 do; /broken answers 200 with a body that is no key set."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    ec_public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    body = json.dumps({"keys": [{**public, "kid": "idp-1", "use": "sig", "alg": "RS256"},
                                {**ec_public, "kid": "ec-1", "use": "sig", "alg": "ES256"}]}).encode()
    requests: list[str] = []

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            requests.append(self.path)
            body_ = b"<html>maintenance</html>" if self.path == "/broken" else body
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body_)))
            self.end_headers()
            self.wfile.write(body_)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json", key=key,
                          ec_key=ec_key, broken=f"http://127.0.0.1:{server.server_port}/broken", requests=requests)
    server.shutdown()
    server.server_close()


def idp_token(idp, *, kid: str = "idp-1", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": "twinmcp-unit", "aud": "billing", "sub": ME, "iat": now, "exp": now + 600,
            "scope": "billing:read", **claims}
    return jwt.encode(body, idp.key, algorithm="RS256", headers={"kid": kid})


def test_with_a_jwks_url_the_providers_rs256_token_signs_in_and_its_keys_are_fetched_once(monkeypatch,
                                                                                        identity_provider):
    monkeypatch.setenv("JWT_JWKS_URL", identity_provider.url)
    before = len(identity_provider.requests)
    assert session_of(idp_token(identity_provider)).caller.user_id == ME
    assert verify_token(idp_token(identity_provider, scope="billing:admin"))["scope"] == "billing:admin"
    assert len(identity_provider.requests) - before <= 1  # the key set is kept between sign-ins


def hmac_signed_with_public_key(idp) -> str:
    """The algorithm-confusion forgery: HS256 keyed with the provider's public key (PyJWT will not sign it)."""
    def part(value: bytes) -> bytes:
        return base64.urlsafe_b64encode(value).rstrip(b"=")

    now = int(time.time())
    claims = {"iss": "twinmcp-unit", "aud": "billing", "sub": ME, "iat": now, "exp": now + 600}
    signing_input = part(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "idp-1"}).encode()) + b"." + part(
        json.dumps(claims).encode())
    public = idp.key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return (signing_input + b"." + part(hmac.new(public, signing_input, hashlib.sha256).digest())).decode()


@pytest.mark.parametrize("forged", [
    pytest.param(lambda idp: token(), id="local-secret-hs256"),
    pytest.param(lambda idp: idp_token(idp, kid="unknown"), id="unknown-kid"),
    pytest.param(lambda idp: idp_token(idp, iss="https://other-idp.example"), id="other-issuer"),
    pytest.param(lambda idp: idp_token(idp, aud="another-api"), id="other-audience"),
    pytest.param(lambda idp: idp_token(idp, exp=int(time.time()) - 60), id="expired"),
    pytest.param(lambda idp: hmac_signed_with_public_key(idp), id="public-key-as-hmac-secret"),
    pytest.param(lambda idp: jwt.encode({"iss": "twinmcp-unit", "aud": "billing", "sub": ME,
                                         "exp": int(time.time()) + 600}, idp.ec_key, algorithm="ES256",
                                        headers={"kid": "ec-1"}), id="published-key-of-another-algorithm"),
])
def test_with_a_jwks_url_anything_but_the_providers_valid_token_is_refused(monkeypatch, identity_provider, forged):
    monkeypatch.setenv("JWT_JWKS_URL", identity_provider.url)
    with pytest.raises(Unauthorized):
        verify_token(forged(identity_provider))


def test_an_unreachable_identity_provider_is_a_dependency_failure_not_a_sign_in_refusal(monkeypatch,
                                                                                       identity_provider):
    monkeypatch.setenv("JWT_JWKS_URL", f"http://127.0.0.1:{free_port()}/.well-known/jwks.json")
    with pytest.raises(DependencyUnavailable):
        verify_token(idp_token(identity_provider))


def test_a_key_set_url_that_answers_no_key_set_is_a_dependency_failure(monkeypatch, identity_provider):
    monkeypatch.setenv("JWT_JWKS_URL", identity_provider.broken)
    with pytest.raises(DependencyUnavailable):
        verify_token(idp_token(identity_provider))
