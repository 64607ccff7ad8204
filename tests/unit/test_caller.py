"""What a caller may see and do: admins anyone, customers only themselves."""
from __future__ import annotations

import pytest

from billing.domain.caller import ADMIN_SCOPE, Caller
from billing.domain.errors import Forbidden

ME = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"

ADMIN = Caller(ME, frozenset({"billing:read", ADMIN_SCOPE}))
CUSTOMER = Caller(ME, frozenset({"billing:read"}))


def assert_forbidden(raised: pytest.ExceptionInfo[Forbidden]) -> None:
    assert (raised.value.code, raised.value.status) == ("forbidden", 403)


@pytest.mark.parametrize("scopes", [set(), {"billing:read"}, {"billing:admin:read"}, {"BILLING:ADMIN"}])
def test_only_the_exact_admin_scope_makes_an_admin(scopes):
    assert not Caller(ME, frozenset(scopes)).is_admin


def test_admin_sees_anyone():
    assert ADMIN.may_see(ME) and ADMIN.may_see(OTHER)


def test_customer_sees_only_themself():
    assert CUSTOMER.may_see(ME)
    assert not CUSTOMER.may_see(OTHER)


@pytest.mark.parametrize(("requested", "expected"), [(None, None), (OTHER, OTHER), (ME, ME)])
def test_admin_read_scope_is_everyone_or_the_requested_user(requested, expected):
    assert ADMIN.scope_user(requested) == expected


@pytest.mark.parametrize("requested", [None, "", ME])
def test_customer_read_scope_is_always_themself(requested):
    assert CUSTOMER.scope_user(requested) == ME


def test_customer_reading_another_user_is_forbidden():
    with pytest.raises(Forbidden) as raised:
        CUSTOMER.scope_user(OTHER)
    assert_forbidden(raised)


@pytest.mark.parametrize(("requested", "expected"), [(None, ME), (ME, ME), (OTHER, OTHER)])
def test_admin_acts_for_the_requested_user_or_themself(requested, expected):
    assert ADMIN.acting_for(requested) == expected


@pytest.mark.parametrize("requested", [None, "", ME])
def test_customer_acts_for_themself(requested):
    assert CUSTOMER.acting_for(requested) == ME


def test_customer_acting_for_another_user_is_forbidden():
    with pytest.raises(Forbidden) as raised:
        CUSTOMER.acting_for(OTHER)
    assert_forbidden(raised)


def test_require_admin_lets_an_admin_through():
    ADMIN.require_admin()


def test_require_admin_refuses_a_customer():
    with pytest.raises(Forbidden) as raised:
        CUSTOMER.require_admin()
    assert_forbidden(raised)
