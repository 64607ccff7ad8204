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


ISSUED = frozenset({"SENT", "PAID", "OVERDUE"})


def check_transition(current: str, target: str) -> None:
    if target not in ALLOWED.get(current, frozenset()):
        raise InvalidTransition(current, target)


def after_payments(current: str, covered: bool, past_due: bool) -> str:
    """The status that payments leave an issued invoice in: PAID once covered; a refund reopens it."""
    if current not in ISSUED:
        return current
    if covered:
        return "PAID"
    if current == "PAID":
        return "OVERDUE" if past_due else "SENT"
    return current
