"""Redis: one client per process (redis-py pools its own connections)."""
from __future__ import annotations

import threading

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from billing.config import settings

_client: redis.Redis | None = None
_lock = threading.Lock()


def cache() -> redis.Redis:
    global _client
    with _lock:
        if _client is None:
            _client = redis.Redis.from_url(
                settings().redis_url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30,
                retry=Retry(NoBackoff(), 1),  # the default retries for seconds; a cache must fail fast
            )
        return _client


def health() -> str | None:
    try:
        cache().ping()
        return None
    except redis.RedisError as exc:
        return type(exc).__name__
