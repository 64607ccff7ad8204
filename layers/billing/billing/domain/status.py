"""The invoice status machine."""
from __future__ import annotations

from .errors import InvalidTransition

STATUSES = ("DRAFT", "SENT", "PAID", "OVERDUE", "CANCELLED")

ALLOWED: dict[str, frozenset[str]] = {
    "DRAFT": frozenset({"SENT", "CANCELLED"}),
    "SENT": frozenset({"PAID", "OVERDUE", "CANCELLED"}),
    "OVERDUE": frozenset({"PAID", "CANCELLED"}),
    "PAID": frozenset(),
    "CANCELLED": frozenset(),
}


def check_transition(current: str, target: str) -> None:
    if target not in ALLOWED.get(current, frozenset()):
        raise InvalidTransition(current, target)
