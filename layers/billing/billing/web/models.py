"""The dashboard's query strings: what a filter form or a pager link sends, empty fields meaning "any"."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from billing.services.invoices.search import InvoiceFilter


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


BlankIsNone = BeforeValidator(_blank_is_none)


def _text(max_length: int) -> Any:
    return Annotated[Annotated[str, StringConstraints(strip_whitespace=True, max_length=max_length)] | None,
                     BlankIsNone]


class ListQuery(BaseModel):
    """GET /dashboard?status=&from=&to=&q=&after=|before= (unknown parameters are ignored, as links pick some up)."""
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    status: _text(16) = None
    period_from: Annotated[date | None, BlankIsNone, Field(alias="from")] = None
    period_to: Annotated[date | None, BlankIsNone, Field(alias="to")] = None
    q: _text(200) = None
    after: _text(200) = None
    before: _text(200) = None

    def filters(self, *, admin: bool) -> InvoiceFilter:
        return InvoiceFilter(status=self.status, period_from=self.period_from, period_to=self.period_to,
                             customer=self.q if admin else None)

    def link(self, **cursor: str) -> str:
        """This list with the same filters, at another page (after=... or before=...)."""
        params = {"status": self.status, "from": self.period_from, "to": self.period_to, "q": self.q, **cursor}
        return "/dashboard?" + urlencode({k: v for k, v in params.items() if v})

    @property
    def filtered(self) -> bool:
        return any((self.status, self.period_from, self.period_to, self.q))
