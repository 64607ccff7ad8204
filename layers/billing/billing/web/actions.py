"""The invoice buttons (send, mark paid, cancel): which a viewer gets, and their forwarding to the billing API.

The page never holds the token (it is in an HttpOnly cookie), so its script posts to the dashboard, which calls
the API route with the session's token as the bearer: the API stays the one place that decides and audits.
A button is shown only when the API has its route: an unauthenticated probe is answered 401 by the JWT
authorizer when the route exists and 404 when it does not, locally and on AWS alike.
"""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from billing.domain.caller import Caller
from billing.domain.errors import DependencyUnavailable
from billing.domain.status import ALLOWED

PROBE_ID = "00000000-0000-4000-8000-000000000000"
PROBE_TTL_SECONDS = 300
FORWARD_TIMEOUT_SECONDS = 25  # under the function's 30 s
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Action:
    name: str  # the URL segment: /dashboard/invoices/{id}/actions/{name}
    label: str
    question: str  # asked before doing it; {number} is the invoice number
    done: str
    method: str
    route: str  # the API route as template.yaml declares it
    body: dict[str, Any] | None
    admin_only: bool
    from_statuses: frozenset[str]
    danger: bool = False


def _can_become(target: str) -> frozenset[str]:
    return frozenset(status for status, targets in ALLOWED.items() if target in targets)


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("send", "Send by e-mail", "E-mail invoice {number} to the customer now?", "The invoice was sent.",
           "POST", "/billing/invoices/{id}/send", None, False, frozenset({"SENT", "OVERDUE", "PAID"})),
    Action("mark-paid", "Mark as paid", "Mark invoice {number} as paid?", "The invoice is marked as paid.",
           "PATCH", "/billing/invoices/{id}", {"status": "PAID"}, True, _can_become("PAID")),
    Action("cancel", "Cancel invoice", "Cancel invoice {number}? A credit note is issued; this cannot be undone.",
           "The invoice was cancelled.", "PATCH", "/billing/invoices/{id}", {"status": "CANCELLED"}, True,
           _can_become("CANCELLED"), danger=True),
)}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


Opener = Callable[..., Any]  # urllib's OpenerDirector.open, or a fake in tests
_opener = urllib.request.build_opener(_NoRedirect).open


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes


def call(method: str, url: str, *, token: str | None = None, payload: dict[str, Any] | None = None,
         timeout: float = FORWARD_TIMEOUT_SECONDS, opener: Opener | None = None) -> Reply:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Accept": "application/json"})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with (opener or _opener)(request, timeout=timeout) as response:
            return Reply(response.status, response.headers.get("Content-Type", ""), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers.get("Content-Type", ""), error.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DependencyUnavailable(f"The billing API did not answer ({type(exc).__name__})") from None


class RouteProbe:
    """Remembers, per API and for a few minutes, which routes the API has."""

    def __init__(self, opener: Opener | None = None, ttl: float = PROBE_TTL_SECONDS) -> None:
        self.opener, self.ttl = opener, ttl
        self._known: dict[tuple[str, str, str], tuple[bool, float]] = {}
        self._lock = threading.Lock()

    def has(self, api_base: str, method: str, route: str) -> bool:
        key, now = (api_base, method, route), time.monotonic()
        with self._lock:
            known = self._known.get(key)
        if known and now - known[1] < self.ttl:
            return known[0]
        try:
            reply = call(method, api_base + route.format(id=PROBE_ID, userId=PROBE_ID), timeout=3,
                         opener=self.opener)
        except DependencyUnavailable:
            return False  # not remembered: ask again next time
        exists = reply.status != 404
        with self._lock:
            self._known[key] = (exists, now)
        return exists


probe = RouteProbe()


def api_base(headers: dict[str, str], domain_name: str, configured: str | None) -> str:
    """BILLING_API_URL when set; otherwise the API that served this request (its own domain on AWS)."""
    if configured:
        return configured.rstrip("/")
    host = urlsplit(f"//{domain_name}").hostname or ""
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    scheme = headers.get("x-forwarded-proto") or ("http" if loopback else "https")
    return f"{scheme}://{domain_name}"


def offered(caller: Caller, invoice: dict[str, Any], base: str, routes: RouteProbe | None = None) -> list[Action]:
    """The buttons this viewer may use on this invoice now, among those whose API route exists."""
    routes = routes or probe
    return [a for a in ACTIONS.values()
            if (caller.is_admin or not a.admin_only) and invoice["status"] in a.from_statuses
            and routes.has(base, a.method, a.route)]


def forward(action: Action, invoice_id: str, token: str, base: str, opener: Opener | None = None) -> Reply:
    """The API's own answer to the action, made with the viewer's token (so refused exactly as the API refuses)."""
    return call(action.method, base + action.route.format(id=invoice_id), token=token, payload=action.body,
                opener=opener)


def message_of(reply: Reply) -> str:
    """A sentence for the page from an API answer: a problem's detail, or the gateway's message."""
    try:
        payload = json.loads(reply.body or b"{}")
    except ValueError:
        payload = {}
    if isinstance(payload, dict):
        for key in ("detail", "message", "title"):
            if isinstance(payload.get(key), str) and payload[key]:
                return payload[key]
    return f"The billing API answered {reply.status}"
