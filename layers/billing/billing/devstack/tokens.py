"""HS256 tokens for the local stack, shaped like the ones the cloud JWT authorizer verifies."""
from __future__ import annotations

import time
import warnings
from typing import Any

import jwt

from billing.config import Settings
from billing.domain.caller import ADMIN_SCOPE


def make_token(cfg: Settings, user_id: str, *, admin: bool = False, ttl: int = 3600) -> str:
    now = int(time.time())
    claims = {
        "iss": cfg.jwt_issuer, "aud": cfg.jwt_audience, "sub": user_id, "iat": now, "exp": now + ttl,
        "scope": " ".join(["billing:read", ADMIN_SCOPE] if admin else ["billing:read"]),
    }
    with warnings.catch_warnings():
        # The documented local default secret is short; it signs nothing outside this laptop.
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(claims, cfg.local_jwt_secret, algorithm="HS256")


def verify_token(cfg: Settings, token: str) -> dict[str, Any]:
    """Raises jwt.InvalidTokenError for anything but a valid, unexpired HS256 token for this issuer and audience."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.decode(
            token, cfg.local_jwt_secret, algorithms=["HS256"], audience=cfg.jwt_audience, issuer=cfg.jwt_issuer,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
