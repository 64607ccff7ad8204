"""How credits pay an invoice: oldest expiry first, never past expiry, never beyond the amount due."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class AvailableCredit:
    id: str
    remaining_minor: int
    expires_on: date | None
    created_order: int  # ties on expiry go to the older credit


def allocate(credits: list[AvailableCredit], amount_due_minor: int, on: date) -> list[tuple[str, int]]:
    """(credit id, minor units) applications, in order, summing to at most amount_due_minor."""
    usable = [c for c in credits if c.remaining_minor > 0 and (c.expires_on is None or c.expires_on >= on)]
    usable.sort(key=lambda c: (c.expires_on is None, c.expires_on or date.max, c.created_order))
    applications, left = [], max(0, amount_due_minor)
    for credit in usable:
        if left == 0:
            break
        used = min(credit.remaining_minor, left)
        applications.append((credit.id, used))
        left -= used
    return applications
