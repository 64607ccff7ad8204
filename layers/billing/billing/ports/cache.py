"""Redis: one client per process, and a fail-open JSON cache (Redis down: callers read through, logged once).

The redis package is imported with the first client, not with this module (about 50 ms of a cold start).
"""
from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

from aws_lambda_powertools import Logger

from billing.config import settings

if TYPE_CHECKING:
    import redis

logger = Logger(child=True)
_client: redis.Redis | None = None
_lock = threading.Lock()
_warned = False


def _redis() -> ModuleType:
    """The redis package; `except _redis().RedisError` is only evaluated once something was raised."""
    import redis

    return redis


def cache() -> redis.Redis:
    global _client
    with _lock:
        if _client is None:
            redis = _redis()
            from redis.backoff import NoBackoff
            from redis.retry import Retry

            _client = redis.Redis.from_url(
                settings().redis_url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30,
                retry=Retry(NoBackoff(), 1),  # the default retries for seconds; a cache must fail fast
            )
        return _client


def health() -> str | None:
    try:
        cache().ping()
        return None
    except _redis().RedisError as exc:
        return type(exc).__name__


def _down(exc: Exception) -> None:
    global _warned
    if not _warned:  # once per container: the cache is optional, a log line per request would be noise
        logger.warning("cache unavailable, reading through", extra={"error": type(exc).__name__})
        _warned = True


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    raise TypeError(f"cannot cache {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        (key, value), = obj.items()
        if key == "$dt":
            return datetime.fromisoformat(value)
        if key == "$d":
            return date.fromisoformat(value)
        if key == "$dec":
            return Decimal(value)
    return obj


def _ns(key: str) -> str:
    """Keys live under the database's name: two databases on one Redis never see each other's entries."""
    return f"{settings().database_url.rsplit('/', 1)[-1]}:{key}"


def clear_namespace() -> int:
    """Drops every key of this database's namespace (after the database was recreated)."""
    removed = 0
    for key in cache().scan_iter(match=_ns("*"), count=500):
        removed += cache().delete(key)
    return removed


def bump(*scopes: str) -> None:
    try:
        pipe = cache().pipeline()
        for scope in scopes:
            pipe.incr(_ns(f"ver:{scope}"))
        pipe.execute()
    except _redis().RedisError as exc:
        _down(exc)


def through(key: str | None, ttl: int, produce: Callable[[], Any]) -> Any:
    """The cached value of `key`, else produce() stored for ttl seconds. No key (or Redis down): produce()."""
    if key is None:
        return produce()
    try:
        raw = cache().get(_ns(key))
        if raw is not None:
            return json.loads(raw, object_hook=_decode)
    except _redis().RedisError as exc:
        _down(exc)
        return produce()
    value = produce()
    try:
        cache().set(_ns(key), json.dumps(value, default=_encode), ex=ttl)
    except _redis().RedisError as exc:
        _down(exc)
    return value


def through_versioned(scopes: tuple[str, ...], key: str, ttl: int, produce: Callable[[], str]) -> str:
    """Like `through`, for a text (a serialised response, say) that a `bump` of any of `scopes` makes stale: kept
    as it is after a line with the versions it was produced under, and read back with the current versions in
    one round trip (one MGET); no JSON to decode on a hit."""
    try:
        *found, raw = cache().mget([*(_ns(f"ver:{s}") for s in scopes), _ns(key)])  # one command, no pipeline
    except _redis().RedisError as exc:
        _down(exc)
        return produce()
    head = f"{json.dumps([int(v or 0) for v in found])}\n"
    if raw is not None and raw.startswith(head.encode()):
        return raw[len(head):].decode()
    value = produce()  # read after the versions: a write that lands meanwhile bumps them past this entry
    try:
        cache().set(_ns(key), head + value, ex=ttl)
    except _redis().RedisError as exc:
        _down(exc)
    return value


# INCR then EXPIREAT, atomic as the MULTI/EXEC pipeline it replaces, as one command with one reply (the
# pipeline had four to parse, a tenth of a request's CPU). Script reloads itself after a server restart (NOSCRIPT).
_HIT = "local n = redis.call('INCR', KEYS[1]) redis.call('EXPIREAT', KEYS[1], ARGV[1]) return n"
_hit_script: redis.commands.core.Script | None = None


def hit(key: str, window_seconds: int) -> tuple[int, int] | None:
    """Counts one hit in the current fixed window: (hits so far, seconds until the window ends); None if down."""
    global _hit_script
    now = int(time.time())
    window_end = now - now % window_seconds + window_seconds
    try:
        client = cache()
        if _hit_script is None:
            _hit_script = client.register_script(_HIT)
        count = _hit_script(keys=[_ns(f"{key}:{window_end}")], args=[window_end + 1], client=client)
        return int(count), window_end - now
    except _redis().RedisError as exc:
        _down(exc)
        return None
