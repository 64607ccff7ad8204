"""Starts `billing stack` in a subprocess on free ports, against the session's PostgreSQL and Redis."""
from __future__ import annotations

import json
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
    info (plus the process and its log's path), and stops it with SIGINT as Ctrl-C would. `args` go to `billing
    stack`, `extra_env` to its environment. Its database is named after the session's
    (`billing_e2e_authz` -> `<BILLING_TEST_DATABASE>_e2e_authz`): the stack recreates it, and parallel runs on
    one PostgreSQL must never drop each other's."""
    from billing.devstack.launch import stack_process

    database = f"{TEST_DATABASE}_{database.removeprefix('billing_')}"
    # As much log as there is: the dashboard tests read the printed sign-in link from it.
    env = {"DATABASE_URL": infra.database_url, "REDIS_URL": infra.redis_url, "BILLING_OWN_SERVICES": "0",
           "POWERTOOLS_LOG_LEVEL": "DEBUG", "STACK_LOG_LEVEL": "INFO", **extra_env}
    with stack_process(ROOT, database, workdir, *args, **env) as info:
        yield info


@pytest.fixture(scope="session")
def stack(infra, tmp_path_factory):
    with local_stack(infra, tmp_path_factory.mktemp("stack"), "billing_e2e") as info:
        yield info
