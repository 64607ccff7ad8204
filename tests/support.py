"""Shared test helpers: sample events from events/, HTTP events for a route, token claims."""
from __future__ import annotations

import copy
import json
import os
import pwd
import shutil
import tempfile
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
ADMIN_ID = "00000000-0000-4000-8000-00000000ad01"


@lru_cache(maxsize=None)
def _load(name: str) -> str:
    return (ROOT / "events" / f"{name}.json").read_text(encoding="utf-8")


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of events/<name>.json."""
    return json.loads(_load(name))


def claims(user_id: str, admin: bool = False) -> dict[str, str]:
    return {"sub": user_id, "scope": "billing:read billing:admin" if admin else "billing:read",
            "iss": "twinmcp-local", "aud": "billing"}


def http_event(method: str, path: str, *, route: str, body: Any = None, query: dict[str, str] | None = None,
               path_params: dict[str, str] | None = None, caller: dict[str, str] | None = None) -> dict[str, Any]:
    """An HTTP API v2 event shaped like events/http_get_invoice.json, for another route and caller."""
    event = copy.deepcopy(load_event("http_get_invoice"))
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {route}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event.pop("pathParameters", None)
    if path_params:
        event["pathParameters"] = path_params
    if query:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if caller is None:
        event["requestContext"].pop("authorizer")
    else:
        event["requestContext"]["authorizer"]["jwt"]["claims"] = caller
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    return event


def call(route_key: str, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Invoke the function that template.yaml routes `route_key` to, as the gateway would; (status, JSON body)."""
    from billing.devstack.lambda_runtime import LambdaContext, handler_of
    from billing.devstack.template import http_routes, load_template

    function = {r.route_key: r.function for r in http_routes(load_template(ROOT / "template.yaml"), ROOT)}[route_key]
    reply = handler_of(function)(event, LambdaContext(function))
    body = reply.get("body") or ""
    is_json = "json" in (reply.get("headers") or {}).get("Content-Type", "application/json")
    return reply["statusCode"], (json.loads(body) if body and is_json and not reply.get("isBase64Encoded") else
                                 {"raw": reply})


def api(method: str, path: str, route: str, caller: dict[str, str] | None, body: Any = None,
        query: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """call() with the event built from a concrete path and its route template."""
    names = [part[1:-1] for part in route.split("/") if part.startswith("{")]
    values = [v for r, v in zip(route.split("/"), path.split("/")) if r.startswith("{")]
    return call(f"{method} {route}", http_event(method, path, route=route, body=body, query=query,
                                                  path_params=dict(zip(names, values)) or None, caller=caller))


def pdf_text(pdf: bytes) -> str:
    """The text of every page, with babel's narrow and plain no-break spaces read as spaces."""
    import io

    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(page.extract_text() for page in pages).replace("\u202f", " ").replace("\xa0", " ")


def process_running(pid: int) -> bool:
    """Alive and not a zombie (an exited daemon may wait a while for its parent or init to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def processes_gone(pids: list[int], timeout: float = 30) -> bool:
    """Waits up to `timeout` seconds for every pid to exit; whether they all did."""
    deadline = time.monotonic() + timeout
    while any(process_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(process_running(pid) for pid in pids)


class Undo(Exception):
    """Raised inside `with db.transaction()` (and expected with pytest.raises) to roll a test's changes back."""


@contextmanager
def throwaway_postgres(*initdb_args: str, files: dict[str, bytes] | None = None, options: str = "") -> Iterator[int]:
    """A PostgreSQL cluster of its own on a free port, for what the shared servers are not (they trust everyone
    and speak no TLS): `initdb_args` (auth, a password file), `files` written beside its data directory (certs,
    keys: name -> content, readable by the server only), `options` for the server (`{dir}` is that directory).
    Yields its port; stopped and removed at the end."""
    from billing.devstack.services import _find_pg_bindir, _pg_os_user, _run, free_port

    bindir, _ = _find_pg_bindir(None, lambda _msg: None)
    user = _pg_os_user(lambda _msg: None)  # PostgreSQL refuses to run as root
    base = Path(tempfile.mkdtemp(prefix="billing-pg-"))
    for name, content in (files or {}).items():
        (base / name).write_bytes(content)
        (base / name).chmod(0o600)
    if user is not None:
        account = pwd.getpwnam(user)
        for path in (base, *base.iterdir()):
            os.chown(path, account.pw_uid, account.pw_gid)
    port = free_port()
    data = base / "data"
    _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--no-sync",
          *(arg.format(dir=base) for arg in initdb_args)], user=user, timeout=180)
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' -c fsync=off "
            + options.format(dir=base))
    _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", opts, "-w", "start"],
         user=user, timeout=120)
    try:
        yield port
    finally:
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], user=user, check=False)
        shutil.rmtree(base, ignore_errors=True)
