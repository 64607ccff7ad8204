"""The invoice status machine: DRAFT -> SENT -> PAID, SENT -> OVERDUE -> PAID, open ones -> CANCELLED."""
from __future__ import annotations

from itertools import product

import pytest

from billing.domain.errors import InvalidTransition
from billing.domain.status import STATUSES, check_transition

ALL = ("DRAFT", "SENT", "PAID", "OVERDUE", "CANCELLED")
ALLOWED = {
    ("DRAFT", "SENT"), ("SENT", "PAID"), ("SENT", "OVERDUE"), ("OVERDUE", "PAID"),
    ("DRAFT", "CANCELLED"), ("SENT", "CANCELLED"), ("OVERDUE", "CANCELLED"),
}
FORBIDDEN = sorted(set(product(ALL, ALL)) - ALLOWED)


def test_the_machine_knows_exactly_the_five_statuses():
    assert set(STATUSES) == set(ALL)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED), ids=lambda s: s)
def test_allowed_move_passes(current, target):
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), FORBIDDEN, ids=lambda s: s)
def test_any_other_move_is_an_invalid_transition_conflict_naming_both_states(current, target):
    with pytest.raises(InvalidTransition) as raised:
        check_transition(current, target)
    error = raised.value
    assert (error.code, error.status) == ("invalid_transition", 409)
    assert (error.extra["from"], error.extra["to"]) == (current, target)


def test_every_pair_is_either_allowed_or_forbidden():
    assert len(FORBIDDEN) + len(ALLOWED) == len(ALL) ** 2 == 25


@pytest.mark.parametrize(("current", "target"), [("DRAFT", "ARCHIVED"), ("ARCHIVED", "PAID"), ("sent", "paid")])
def test_a_move_involving_an_unknown_status_is_an_invalid_transition(current, target):
    with pytest.raises(InvalidTransition):
        check_transition(current, target)
