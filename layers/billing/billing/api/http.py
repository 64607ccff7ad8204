"""What every HTTP function shares: the resolver with its error mapping, the caller, bodies and responses."""
from __future__ import annotations

import base64
import json
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from pydantic import BaseModel, ValidationError

from billing.config import settings
from billing.domain.caller import Caller
from billing.domain.errors import (BillingError, InvalidInvoiceId, InvalidJson, InvalidUserId, PayloadTooLarge,
                                   RateLimited, Unauthorized)
from billing.domain.ids import parse_uuid
from billing.ports import cache
from billing.services.audit import Actor, act_as
from billing.logs import service_logger

from .errors import from_billing_error, problem, request_error
from .resolver import Resolver

logger = service_logger()
M = TypeVar("M", bound=BaseModel)
MAX_BODY_BYTES = 256 * 1024


def make_app() -> APIGatewayHttpResolver:
    app = Resolver()

    @app.exception_handler(BillingError)
    def _billing(exc: BillingError) -> Response:
        if exc.status >= 500:
            logger.exception("dependency failure")
        return from_billing_error(exc)

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        return problem(500, "internal_error", "Internal error", "Something went wrong; it has been logged")

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return problem(404, "route_not_found", "No such route", "No route matches this method and path")

    return app


def caller(app: APIGatewayHttpResolver) -> Caller:
    """The caller from the JWT authorizer's claims (API Gateway verified the token before we run)."""
    context = app.current_event.raw_event.get("requestContext", {})
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    subject = claims.get("sub")
    if not subject:
        raise Unauthorized()
    scopes = claims.get("scope") or ""
    if isinstance(scopes, list):  # HTTP API hands array claims over as "[a b]" strings or lists
        scopes = " ".join(scopes)
    who = Caller(user_id=parse_uuid(subject, Unauthorized), scopes=frozenset(scopes.strip("[]").split()))
    http = context.get("http") or {}
    act_as(Actor(who.user_id, http.get("sourceIp"), (http.get("userAgent") or "")[:300] or None))
    _rate_limit(who)
    return who


def _rate_limit(who: Caller) -> None:
    """A fixed one-minute window per caller in Redis; without Redis, requests are not limited (fail open)."""
    limit = settings().rate_limit_per_minute
    counted = cache.hit(f"rate:{who.user_id}", 60) if limit > 0 else None
    if counted and counted[0] > limit:
        raise RateLimited(max(1, counted[1]))


def body(app: APIGatewayHttpResolver, model: type[M]) -> M:
    raw = app.current_event.raw_event.get("body") or ""
    data = base64.b64decode(raw) if app.current_event.raw_event.get("isBase64Encoded") else raw.encode()
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is limited to {MAX_BODY_BYTES // 1024} KB")
    if not data.strip():
        raise InvalidJson("The request needs a JSON body")
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise request_error(exc) from None


def query(app: APIGatewayHttpResolver, model: type[M]) -> M:
    try:
        return model.model_validate(app.current_event.query_string_parameters or {})
    except ValidationError as exc:
        raise request_error(exc) from None


def user_id(value: str) -> str:
    return parse_uuid(value, InvalidUserId)


def json_response(status: int, payload: BaseModel | dict[str, Any] | str,
                  headers: dict[str, str] | None = None) -> Response:
    """`payload`: a model, a dict, or a str that is already the JSON text (a page served from the cache)."""
    text = (payload.model_dump_json(by_alias=True) if isinstance(payload, BaseModel) else
            payload if isinstance(payload, str) else json.dumps(payload))
    return Response(status_code=status, content_type="application/json", body=text, headers=headers)


def invoice_id(value: str) -> str:
    return parse_uuid(value, InvalidInvoiceId)
