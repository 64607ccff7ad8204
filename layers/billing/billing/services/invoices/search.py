"""Search invoices by status, service period and (staff only) customer name words or e-mail, a page at a time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from billing.domain.caller import Caller
from billing.domain.errors import InvalidPeriod, InvalidRequest
from billing.domain.status import STATUSES
from billing.ports.db import Database, database, invoice_search, invoices
from billing.ports import crypto

from .query import decode_cursor, encode_cursor

MAX_LIMIT = 100  # as GET /billing/invoices
MAX_CUSTOMER_QUERY = 100


@dataclass(frozen=True)
class InvoiceFilter:
    status: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    customer: str | None = None  # whole words of a customer's name, or an e-mail; billing administrators only


@dataclass(frozen=True)
class InvoiceSearchPage:
    rows: list[dict[str, Any]]
    next_cursor: str | None  # older invoices
    prev_cursor: str | None  # newer invoices


def search_invoices(caller: Caller, filters: InvoiceFilter, *, user_id: str | None = None, limit: int = 20,
                    after: str | None = None, before: str | None = None,
                    db: Database | None = None) -> InvoiceSearchPage:
    """Newest first. Pass `after` a page's next_cursor for the older page, `before` its prev_cursor for the newer."""
    owner = caller.scope_user(user_id)
    customer = _checked(caller, filters, limit, after, before)
    after_key = decode_cursor(after) if after else None
    before_key = decode_cursor(before) if before else None
    with (db or database()).transaction() as tx:
        query = {"user_id": owner, "status": filters.status, "period_from": filters.period_from,
                 "period_to": filters.period_to, "customer": customer and crypto.search_tokens(tx, customer)}
        rows = invoice_search.page(tx, limit=limit + 1, after=after_key, before=before_key, **query)
        if before_key and len(rows) <= limit:
            # Back at the newest invoices: show a whole first page rather than the few left before the cursor.
            before_key, rows = None, invoice_search.page(tx, limit=limit + 1, **query)
        for row in rows:
            invoices.open_buyer(tx, row)
    if before_key:
        rows = rows[-limit:]
        return InvoiceSearchPage(rows, encode_cursor(rows[-1]), encode_cursor(rows[0]))
    more = len(rows) > limit
    rows = rows[:limit]
    return InvoiceSearchPage(rows, encode_cursor(rows[-1]) if more else None,
                             encode_cursor(rows[0]) if after_key and rows else None)


def _checked(caller: Caller, filters: InvoiceFilter, limit: int, after: str | None, before: str | None) -> str | None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}", code="invalid_limit")
    if after and before:
        raise InvalidRequest("Page after a cursor or before one, not both", code="invalid_cursor")
    if filters.status is not None and filters.status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}", code="invalid_status")
    if filters.period_from and filters.period_to and filters.period_from > filters.period_to:
        raise InvalidPeriod("The period filter ends before it starts")
    customer = (filters.customer or "").strip()
    if not customer:
        return None
    caller.require_admin()  # customers only ever see their own invoices: nothing to search
    if len(customer) > MAX_CUSTOMER_QUERY:
        raise InvalidRequest(f"The customer search is limited to {MAX_CUSTOMER_QUERY} characters",
                             code="invalid_search")
    return customer
