"""The Redis cache against the real server: versioned entries go stale on a bump of any of their scopes."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from billing.ports import cache


def test_a_versioned_entry_is_served_until_a_bump_of_any_of_its_scopes_then_produced_again(infra):
    scope, other, key = (f"test:{uuid.uuid4()}" for _ in range(3))
    produced: list[int] = []

    def produce() -> list[dict[str, object]]:
        produced.append(1)
        return [{"n": len(produced), "at": datetime(2026, 11, 1, tzinfo=timezone.utc)}]

    first = cache.through_versioned((scope, other), key, 60, produce)
    assert cache.through_versioned((scope, other), key, 60, produce) == first  # served, types kept
    assert first[0]["at"] == datetime(2026, 11, 1, tzinfo=timezone.utc) and len(produced) == 1
    cache.bump(other)
    assert cache.through_versioned((scope, other), key, 60, produce)[0]["n"] == 2
    cache.bump(scope)
    assert cache.through_versioned((scope, other), key, 60, produce)[0]["n"] == 3
    assert cache.through_versioned((scope, other), key, 60, produce)[0]["n"] == 3


def test_a_text_entry_comes_back_as_the_same_text_until_a_bump_of_its_scope():
    scope, key = f"test:{uuid.uuid4()}", f"test:{uuid.uuid4()}"
    texts = iter(['[{"note":"Crème brûlée 🍮\\nsecond line"}]', "[]"])
    first = cache.through_versioned((scope,), key, 60, lambda: next(texts), text=True)
    assert cache.through_versioned((scope,), key, 60, lambda: "not produced again", text=True) == first
    assert first == '[{"note":"Crème brûlée 🍮\\nsecond line"}]'
    cache.bump(scope)
    assert cache.through_versioned((scope,), key, 60, lambda: next(texts), text=True) == "[]"


def test_hits_count_in_a_window_that_expires_even_after_the_server_forgot_the_script():
    key = f"test:rate:{uuid.uuid4()}"
    counts = [cache.hit(key, 60) for _ in range(2)]
    cache._hit_script.sha = "0" * 40  # as after a Redis restart or failover: NOSCRIPT, loaded again
    counts.append(cache.hit(key, 60))
    windows = list(cache.cache().scan_iter(match=cache._ns(f"{key}:*")))
    if len(windows) > 1:
        pytest.skip("the one-minute window rolled over mid-test")
    assert [c for c, _ in counts] == [1, 2, 3] and all(1 <= left <= 60 for _, left in counts)
    assert 1 <= cache.cache().ttl(windows[0]) <= 61  # the window's key goes with it
