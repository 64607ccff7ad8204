"""The Redis cache against the real server: versioned entries go stale on a bump of any of their scopes."""
from __future__ import annotations

import uuid

import pytest

from billing.ports import cache


def test_a_versioned_text_comes_back_as_the_same_text_until_a_bump_of_any_of_its_scopes(infra):
    scope, other, key = (f"test:{uuid.uuid4()}" for _ in range(3))
    texts = iter(['[{"note":"Crème brûlée 🍮\\nsecond line"}]', "[2]", "[3]"])

    def versioned(produce):
        return cache.through_versioned((scope, other), key, 60, produce)

    first = versioned(lambda: next(texts))
    assert versioned(lambda: "not produced again") == first == '[{"note":"Crème brûlée 🍮\\nsecond line"}]'
    cache.bump(other)
    assert versioned(lambda: next(texts)) == "[2]"
    cache.bump(scope)
    assert versioned(lambda: next(texts)) == "[3]"
    assert versioned(lambda: "not produced again") == "[3]"


def test_hits_count_in_a_window_that_expires_even_after_the_server_forgot_the_script():
    key = f"test:rate:{uuid.uuid4()}"
    counts = [cache.hit(key, 60) for _ in range(2)]
    cache.cache().script_flush()  # as after a Redis restart or failover: NOSCRIPT, loaded again
    counts.append(cache.hit(key, 60))
    windows = list(cache.cache().scan_iter(match=cache._ns(f"{key}:*")))
    if len(windows) > 1:
        pytest.skip("the one-minute window rolled over mid-test")
    assert [c for c, _ in counts] == [1, 2, 3] and all(1 <= left <= 60 for _, left in counts)
    assert 1 <= cache.cache().ttl(windows[0]) <= 61  # the window's key goes with it
