"""What the benchmarks that need real services share: a fresh database of their own, and the local stack.

Each benchmark names its own database (`billing_bench_<name>`), so benchmarks and test runs never share one.
`BILLING_OWN_SERVICES=1` ignores running PostgreSQL/Redis and starts its own, as in `make test`.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
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
    (recreated), as `make run` starts it. Yields the ready info (`gateway`, tokens, ...) plus `process` and
    `logPath`; stops it with SIGINT as Ctrl-C would. `args` go to `billing stack`; `env` to its environment."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    ready = workdir / "ready.json"
    child_env = {k: v for k, v in os.environ.items() if k not in ("S3_ENDPOINT_URL", "SMTP_PORT", "JWT_JWKS_URL")}
    # The stack uses the servers this run found or started (DATABASE_URL, REDIS_URL): never a pair of its own,
    # which would also stop or reap the ones a test session handed over.
    child_env.update(PYTHONUNBUFFERED="1", STACK_LOG_LEVEL="WARNING", POWERTOOLS_LOG_LEVEL="WARNING",
                     BILLING_OWN_SERVICES="0", **env)
    log_path = workdir / "stack.log"
    process = _start(name, child_env, ready, log_path, args, timeout)
    try:
        info = json.loads(ready.read_text())
        info.update(process=process, logPath=str(log_path))
        yield info
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def _start(name: str, env: dict[str, str], ready: Path, log_path: Path, args: tuple[str, ...],
           timeout: float, attempts: int = 3) -> subprocess.Popen[bytes]:
    """Start the stack and wait for its ready file. A port picked free can be taken before the stack binds it
    (an outgoing connection's ephemeral port): then it starts again on other ports."""
    from billing.devstack.services import free_port

    for attempt in range(1, attempts + 1):
        command = [sys.executable, "-m", "billing.cli", "stack", "--port", str(free_port()),
                   "--s3-port", str(free_port()), "--smtp-port", str(free_port()),
                   "--database", database_name(name), "--no-seed", "--ready-file", str(ready), *args]
        with open(log_path, "w") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if ready.exists():
            return process
        if process.poll() is None:
            process.kill()
            process.wait()
        text = log_path.read_text(errors="replace")
        if "Address already in use" not in text or attempt == attempts:
            raise RuntimeError(f"the local stack did not start:\n{text[-4000:]}")
        log(f"  {name}: a port was taken before the stack bound it; starting again on other ports")
    raise AssertionError("unreachable")
