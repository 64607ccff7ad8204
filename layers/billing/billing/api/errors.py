"""The one place where failures become application/problem+json responses."""
from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from pydantic import ValidationError

from billing.domain.errors import BillingError, InvalidJson, InvalidRequest

PROBLEM = "application/problem+json"

# A validation error on these fields carries their own stable code (matched on the field, never on text).
FIELD_CODES = {
    "userId": "invalid_user_id",
    "period": "invalid_period",
    "plan": "invalid_plan",
    "currency": "unsupported_currency",
    "interval": "invalid_interval",
    "locale": "invalid_locale",
    "events": "invalid_events",
    "email": "invalid_email",
    "status": "invalid_status",
    "limit": "invalid_limit",
    "expiresIn": "invalid_expiry",
}


def problem(status: int, code: str, title: str, detail: str, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    body = {"type": f"https://twinmcp.example/problems/{code}", "title": title, "status": status,
            "code": code, "detail": detail, **extra}
    return Response(status_code=status, content_type=PROBLEM, body=json.dumps(body, default=str), headers=headers)


def from_billing_error(exc: BillingError) -> Response:
    return problem(exc.status, exc.code, exc.title, exc.detail, headers=exc.headers or None, **exc.extra)


def request_error(exc: ValidationError) -> BillingError:
    """A request that failed its model, as the typed error with the first field's stable code."""
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    if any(e["type"] in ("json_invalid", "json_type") for e in errors):
        return InvalidJson("The request body must be a JSON object")
    first = errors[0]
    loc = [str(part) for part in first["loc"]]
    code = next((FIELD_CODES[p] for p in loc if p in FIELD_CODES), "invalid_request")
    fields = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in errors[:20]]
    return InvalidRequest(f"{'.'.join(loc) or 'body'}: {first['msg']}", code=code, errors=fields)
