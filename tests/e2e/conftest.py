"""Starts `billing stack` in a subprocess on free ports, against the session's PostgreSQL and Redis."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_DATABASE
from tests.support import ROOT


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http(method: str, url: str, *, token: str | None = None, body: Any = None, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> Reply:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None and "Content-Type" not in (headers or {}):
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with _opener.open(request, timeout=60) as response:
            return Reply(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


@contextmanager
def local_stack(infra, workdir: Path, database: str, *args: str, **extra_env: str):
    """`billing stack` in a subprocess on free ports, on the session's PostgreSQL and Redis; yields its ready
    info (plus the process and its log), and stops it with SIGINT as Ctrl-C would. `args` go to `billing
    stack`, `extra_env` to its environment. Its database is named after the session's
    (`billing_e2e_authz` -> `<BILLING_TEST_DATABASE>_e2e_authz`): the stack recreates it, and parallel runs on
    one PostgreSQL must never drop each other's."""
    from billing.devstack.services import free_port

    database = f"{TEST_DATABASE}_{database.removeprefix('billing_')}"
    ready = workdir / "ready.json"
    env = {k: v for k, v in os.environ.items() if k not in ("S3_ENDPOINT_URL", "SMTP_PORT", "JWT_JWKS_URL")}
    env.update(DATABASE_URL=infra.database_url, REDIS_URL=infra.redis_url, BILLING_OWN_SERVICES="0",
               PYTHONUNBUFFERED="1", POWERTOOLS_LOG_LEVEL="DEBUG", STACK_LOG_LEVEL="INFO")  # as much log as there is
    env.update(extra_env)  # the dashboard tests read the printed sign-in link from the log
    ports = [free_port(), free_port(), free_port()]
    log = open(workdir / "stack.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "billing.cli", "stack", "--port", str(ports[0]), "--s3-port", str(ports[1]),
         "--smtp-port", str(ports[2]), "--database", database, "--ready-file", str(ready), *args],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if not ready.exists():
        process.kill()
        log.seek(0)
        pytest.fail(f"the local stack did not start:\n{log.read()[-4000:]}")
    info = json.loads(ready.read_text())
    info.update(process=process, log=log, logPath=log.name)
    try:
        yield info
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@pytest.fixture(scope="session")
def stack(infra, tmp_path_factory):
    with local_stack(infra, tmp_path_factory.mktemp("stack"), "billing_e2e") as info:
        yield info
