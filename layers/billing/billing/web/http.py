"""What the dashboard function shares: the resolver with HTML error pages, the session, pages, static files."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import jinja2
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.shared.cookies import Cookie

from billing.api.errors import PROBLEM, from_billing_error, problem
from billing.api.resolver import Resolver
from billing.domain.errors import BillingError, InvalidRequest, Unauthorized
from billing.logs import service_logger

from . import actions
from .session import Session, cleared_cookie, session_of, token_from_cookies
from .views import STATUS_LABELS, Formatter, invoice_detail, invoice_row, viewer_locale

logger = service_logger()
HERE = Path(__file__).resolve().parent
SIGN_IN = "/dashboard/sign-in"
MAX_FORM_BYTES = 8 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Never to another site (an invoice id, a presigned URL); same-origin keeps the Origin of form posts real.
    "Referrer-Policy": "same-origin",
}
NEXT_PATH = re.compile(r"^/dashboard(/[A-Za-z0-9/_-]*)?(\?[A-Za-z0-9=&%_.+-]*)?$")


class ForbiddenOrigin(BillingError):
    code, title, status = "forbidden_origin", "This request did not come from the dashboard", 403


class SignInRequired(Exception):
    def __init__(self, expired: bool) -> None:
        super().__init__("sign-in required")
        self.expired = expired


def make_app() -> APIGatewayHttpResolver:
    app = Resolver()

    @app.exception_handler(SignInRequired)
    def _sign_in(exc: SignInRequired) -> Response:
        secure = is_https(app)
        if wants_json(app):
            response = problem(401, "unauthorized", "Sign in again", "Your dashboard session has ended")
            response.cookies = [cleared_cookie(secure=secure)] if exc.expired else []
            return response
        target = f"{SIGN_IN}?next={quote(current_path(app), safe='')}" + ("&expired=1" if exc.expired else "")
        return redirect(target, cookies=[cleared_cookie(secure=secure)] if exc.expired else None)

    @app.exception_handler(BillingError)
    def _billing(exc: BillingError) -> Response:
        if exc.status >= 500:
            logger.exception("dependency failure")
        if wants_json(app):
            return from_billing_error(exc)
        return page(app, "error.html", None, status=exc.status, title=exc.title, detail=exc.detail)

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        if wants_json(app):
            return problem(500, "internal_error", "Internal error", "Something went wrong; it has been logged")
        return page(app, "error.html", None, status=500, title="Something went wrong",
                    detail="The page could not be shown. It has been logged; try again in a moment.")

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return page(app, "error.html", None, status=404, title="Page not found",
                    detail="There is no dashboard page at this address.")

    return app


# ---- request -------------------------------------------------------------------------------------------------

def headers_of(app: APIGatewayHttpResolver) -> dict[str, str]:
    return {k.lower(): v for k, v in (app.current_event.raw_event.get("headers") or {}).items()}


def wants_json(app: APIGatewayHttpResolver) -> bool:
    return "application/json" in headers_of(app).get("accept", "")


def is_https(app: APIGatewayHttpResolver) -> bool:
    return headers_of(app).get("x-forwarded-proto", "") == "https"


def current_path(app: APIGatewayHttpResolver) -> str:
    raw = app.current_event.raw_event
    query = raw.get("rawQueryString") or ""
    return raw.get("rawPath", "/dashboard") + (f"?{query}" if query else "")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a dashboard path only, never another site."""
    return value if value and NEXT_PATH.match(value) else "/dashboard"


def session(app: APIGatewayHttpResolver) -> Session:
    token = token_from_cookies(app.current_event.raw_event.get("cookies"))
    if not token:
        raise SignInRequired(expired=False)
    try:
        return session_of(token)
    except Unauthorized:
        raise SignInRequired(expired=True) from None


def require_same_origin(app: APIGatewayHttpResolver) -> None:
    """A POST must come from a dashboard page (on top of the SameSite=Strict cookie)."""
    headers = headers_of(app)
    origin, fetch_site = headers.get("origin"), headers.get("sec-fetch-site")
    host = headers.get("host") or app.current_event.raw_event.get("requestContext", {}).get("domainName", "")
    if origin is not None and urlsplit(origin).netloc != host:
        raise ForbiddenOrigin()
    if origin is None and fetch_site not in (None, "same-origin", "none"):
        raise ForbiddenOrigin()


def form(app: APIGatewayHttpResolver) -> dict[str, str]:
    raw = app.current_event.raw_event
    text = raw.get("body") or ""
    data = base64.b64decode(text) if raw.get("isBase64Encoded") else text.encode()
    if len(data) > MAX_FORM_BYTES:
        raise InvalidRequest("The form is too large", code="payload_too_large")
    return {k: v[0] for k, v in parse_qs(data.decode("utf-8", "replace")).items()}


def api_base(app: APIGatewayHttpResolver) -> str:
    raw = app.current_event.raw_event
    return actions.api_base(headers_of(app), raw.get("requestContext", {}).get("domainName", ""),
                            os.environ.get("BILLING_API_URL"))


# ---- responses -----------------------------------------------------------------------------------------------

def redirect(location: str, *, status: int = 303, cookies: list[Cookie] | None = None) -> Response:
    return Response(status_code=status, headers={"Location": location, "Cache-Control": "no-store"}, body="",
                    cookies=cookies or [])


def pdf_inline(kind: str, pdf: bytes) -> Response:
    """A PDF rendered on the fly: a DRAFT's preview, or an invoice while the document store is down."""
    name = "draft.pdf" if kind == "preview" else "invoice.pdf"
    return Response(status_code=200, content_type="application/pdf", body=pdf,
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store",
                             "X-Content-Type-Options": "nosniff"})


def page(app: APIGatewayHttpResolver, template: str, who: Session | None, *, status: int = 200,
         cookies: list[Cookie] | None = None, **context: Any) -> Response:
    locale = viewer_locale(headers_of(app).get("accept-language"))
    html = _templates().get_template(template).render(
        viewer=who and who.caller, f=Formatter(locale), locale=locale, status=status, **context)
    return Response(status_code=status, content_type="text/html; charset=utf-8", body=html,
                    headers={**SECURITY_HEADERS, "Cache-Control": "no-store"}, cookies=cookies or [])


def relay(action: actions.Action, reply: actions.Reply) -> Response:
    """The API's answer to an action, for the page's script: its problem as is when refused."""
    if 200 <= reply.status < 300:
        return Response(status_code=200, content_type="application/json", body=json.dumps({"message": action.done}),
                        headers={"Cache-Control": "no-store"})
    if reply.content_type.startswith(PROBLEM):
        return Response(status_code=reply.status, content_type=PROBLEM, body=reply.body.decode("utf-8", "replace"))
    return problem(reply.status, "refused", "The billing API refused the action", actions.message_of(reply))


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(static_url=static_url, invoice_row=invoice_row, invoice_detail=invoice_detail,
                       statuses=STATUS_LABELS, actions_done={a.name: a.done for a in actions.ACTIONS.values()})
    return env


# ---- static files --------------------------------------------------------------------------------------------

CONTENT_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".svg": "image/svg+xml"}


@lru_cache(maxsize=1)
def _static_files() -> dict[str, tuple[str, str, str]]:
    """name -> (text, content type, short content hash): only the files shipped in static/, read once."""
    found = {}
    for path in sorted((HERE / "static").iterdir()):
        if path.is_file() and path.suffix in CONTENT_TYPES:
            text = path.read_text(encoding="utf-8")
            found[path.name] = (text, CONTENT_TYPES[path.suffix], hashlib.sha256(text.encode()).hexdigest()[:12])
    return found


def static_url(name: str) -> str:
    # The content hash in the URL lets browsers keep the file for a day and still see a new version at once.
    return f"/dashboard/static/{name}?v={_static_files()[name][2]}"


def static_file(name: str) -> Response:
    found = _static_files().get(name)
    if found is None:
        return Response(status_code=404, content_type="text/plain; charset=utf-8", body="Not found")
    text, content_type, _ = found
    return Response(status_code=200, content_type=content_type, body=text,
                    headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})
