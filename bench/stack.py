"""What the benchmarks that need real services share: a fresh database of their own, and the local stack.

Each benchmark names its own database (`billing_bench_<name>`), so benchmarks and test runs never share one.
`BILLING_OWN_SERVICES=1` ignores running PostgreSQL/Redis and starts its own, as in `make test`.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .measure import ROOT, log


def own_services() -> bool:
    """Start our own PostgreSQL and Redis only when asked and not handed servers: the smoke test in
    `make test` passes its session's DATABASE_URL and REDIS_URL, so a benchmark never starts a second pair."""
    return os.environ.get("BILLING_OWN_SERVICES") == "1" and not os.environ.get("DATABASE_URL")


@contextmanager
def shared_services() -> Iterator[None]:
    """The whole run's PostgreSQL and Redis when we must start our own (BILLING_OWN_SERVICES=1 and none handed
    over): started once here and handed to every benchmark and every local stack through DATABASE_URL and
    REDIS_URL, instead of a pair per benchmark."""
    if not own_services():
        yield
        return
    from billing.devstack.services import ensure_services

    services = ensure_services(ROOT, database_name("run"), own=True, log=lambda m: log(f"  [services] {m}"))
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "REDIS_URL")}
    os.environ.update(DATABASE_URL=services.database_url, REDIS_URL=services.redis_url)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        services.stop()


def database_name(name: str) -> str:
    """`billing_bench_<name>`; parallel runs (two checkouts, the smoke test) set BILLING_BENCH_DATABASE_PREFIX."""
    return os.environ.get("BILLING_BENCH_DATABASE_PREFIX", "billing_bench_") + name


def reset_clients() -> None:
    """Forget this process's clients and caches (database pool, S3, Redis, SQS, data keys): the benchmarks run
    one after another in one process, each on a database and endpoints of its own."""
    import billing.ports.cache as cache
    import billing.ports.db as db
    import billing.ports.queue as queue
    import billing.ports.storage as storage
    from billing.config import settings
    from billing.ports import crypto

    if db._default is not None:
        db._default.close()
    db._default, storage._default, cache._client, queue._client = None, None, None, None
    crypto._data_keys.clear()
    settings.cache_clear()


@contextmanager
def database(name: str) -> Iterator[Any]:
    """PostgreSQL and Redis (found or started), with an empty, migrated database (`database_name`); sets
    DATABASE_URL and REDIS_URL for this process while it lasts and yields the `Services`."""
    from billing.devstack.services import ensure_services, recreate_database
    from billing.ports.db.migrate import migrate

    db = database_name(name)
    services = ensure_services(ROOT, db, own=own_services(), log=lambda m: log(f"  [services] {m}"))
    saved = dict(os.environ)
    try:
        recreate_database(services.admin_database_url, db)
        migrate(services.database_url, log=lambda _m: None)
        os.environ.update(DATABASE_URL=services.database_url, REDIS_URL=services.redis_url,
                          AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "eu-west-3"),
                          POWERTOOLS_SERVICE_NAME="billing", POWERTOOLS_LOG_LEVEL="WARNING")
        reset_clients()
        yield services
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_clients()
        services.stop()


@contextmanager
def local_stack(name: str, *args: str, timeout: float = 300, **env: str) -> Iterator[dict[str, Any]]:
    """`billing stack --no-seed` in a subprocess on free ports with its own database (`database_name`)
    (recreated), as `make run` starts it. Yields the ready info (`baseUrl`, tokens, ...) plus `process` and
    `logPath`; stops it with SIGINT as Ctrl-C would. `args` go to `billing stack`; `env` to its environment."""
    from billing.devstack.launch import stack_process

    # The stack uses the servers this run found or started (DATABASE_URL, REDIS_URL): never a pair of its own,
    # which would also stop or reap the ones a test session handed over.
    with stack_process(ROOT, database_name(name), Path(tempfile.mkdtemp(prefix=f"bench-{name}-")), "--no-seed",
                       *args, timeout=timeout, log=lambda message: log(f"  {name}: {message}"),
                       **{"STACK_LOG_LEVEL": "WARNING", "POWERTOOLS_LOG_LEVEL": "WARNING",
                          "BILLING_OWN_SERVICES": "0", **env}) as info:
        yield info
