"""The dashboard session: the caller's JWT in an HttpOnly, SameSite=Strict cookie, verified here.

The dashboard routes have no HttpApi authorizer (it reads only the Authorization header, which a page
navigation does not send), so this module verifies the token itself, with the same issuer and audience.

Verification: when JWT_JWKS_URL is set, as template.yaml does for the deployed function, RS256 against the
identity provider's published keys (fetched once, kept 5 minutes, fetched again for an unknown `kid`); the
shared LOCAL_JWT_SECRET is then never accepted. Without it (the local stack), HS256 with LOCAL_JWT_SECRET.
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from billing.config import settings
from billing.domain.caller import Caller
from billing.domain.errors import DependencyUnavailable, Unauthorized
from billing.domain.ids import parse_uuid

COOKIE_NAME = "twinmcp_session"
COOKIE_PATH = "/dashboard"
MAX_SESSION_SECONDS = 12 * 3600  # never longer than this, whatever the token's own lifetime
MAX_TOKEN_BYTES = 3500  # a cookie holds about 4 KB


@dataclass(frozen=True)
class Session:
    caller: Caller
    token: str
    expires_at: int


def verify_token(token: str) -> dict[str, Any]:
    """The token's claims; Unauthorized for anything but a valid, unexpired token for this issuer and audience."""
    if not token or len(token) > MAX_TOKEN_BYTES:
        raise Unauthorized("Sign in again")
    cfg = settings()
    checks: dict[str, Any] = {"audience": cfg.jwt_audience, "issuer": cfg.jwt_issuer,
                              "options": {"require": ["exp", "sub", "iss", "aud"]}}
    jwks_url = os.environ.get("JWT_JWKS_URL")
    try:
        if jwks_url:
            try:
                key = _jwks(jwks_url).get_signing_key_from_jwt(token)
            except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError, ValueError) as exc:  # unreachable, or no
                raise DependencyUnavailable("The identity provider's keys could not be fetched") from exc  # key set
            return jwt.decode(token, key, algorithms=["RS256"], **checks)  # the PyJWK: its own algorithm is checked
        with warnings.catch_warnings():
            # The local stack's documented default secret is short on purpose.
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            return jwt.decode(token, cfg.local_jwt_secret, algorithms=["HS256"], **checks)
    except (jwt.InvalidTokenError, jwt.PyJWKClientError):  # the latter: no published key for its `kid`
        raise Unauthorized("The sign-in token is not valid or has expired") from None


@lru_cache(maxsize=2)
def _jwks(url: str) -> jwt.PyJWKClient:
    """One client per container: its key set is reused across warm invocations."""
    return jwt.PyJWKClient(url, cache_jwk_set=True, lifespan=300, timeout=5)


def session_of(token: str) -> Session:
    claims = verify_token(token)
    scopes = claims.get("scope") or ""
    if isinstance(scopes, list):
        scopes = " ".join(str(s) for s in scopes)
    caller = Caller(user_id=parse_uuid(claims["sub"], Unauthorized), scopes=frozenset(str(scopes).split()))
    return Session(caller=caller, token=token, expires_at=int(claims["exp"]))


def token_from_cookies(cookies: list[str] | None) -> str | None:
    for cookie in cookies or []:
        name, _, value = cookie.partition("=")
        if name.strip() == COOKIE_NAME:
            return value.strip()
    return None


def session_cookie(session: Session, *, secure: bool) -> Cookie:
    lifetime = max(0, min(session.expires_at - int(time.time()), MAX_SESSION_SECONDS))
    return Cookie(name=COOKIE_NAME, value=session.token, path=COOKIE_PATH, secure=secure, http_only=True,
                  max_age=lifetime, same_site=SameSite.STRICT_MODE)


def cleared_cookie(*, secure: bool) -> Cookie:
    return Cookie(name=COOKIE_NAME, value="", path=COOKIE_PATH, secure=secure, http_only=True, max_age=0,
                  same_site=SameSite.STRICT_MODE)
