"""Invoice writes make cached invoice pages stale: each customer's pages, and the all-customers ones."""
from __future__ import annotations

from billing.ports import cache

ALL = "invoices:all"


def invoices_changed(*user_ids: str) -> None:
    """Call after a write to these customers' invoices commits."""
    cache.bump(ALL, *user_ids)
