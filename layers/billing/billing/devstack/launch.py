"""`billing stack` in a subprocess on free ports: what the benchmarks and the end-to-end tests start."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from .services import free_port

# Settings of the calling process that would point the stack at another stack's S3 or SMTP, or at real keys.
_NOT_INHERITED = ("S3_ENDPOINT_URL", "SMTP_PORT", "JWT_JWKS_URL")


@contextmanager
def stack_process(root: Path, database: str, workdir: Path, *args: str, timeout: float = 180, attempts: int = 3,
                  log: Callable[[str], None] = lambda _message: None, **env: str) -> Iterator[dict[str, Any]]:
    """`python -m billing.cli stack` in the project `root`, with its database `database` (recreated), its ready file and its output
    (`stack.log`) in `workdir`, `args` on its command line and `env` over this process's environment. Yields
    the ready info (`baseUrl`, tokens, ...) plus `process` and `logPath`; stops it with SIGINT as Ctrl-C would.

    A port picked free can be taken before the stack binds it (an outgoing connection's ephemeral port): then it
    starts again on other ports, up to `attempts` times."""
    ready, log_path = workdir / "ready.json", workdir / "stack.log"
    child_env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    child_env.update(PYTHONUNBUFFERED="1", **env)
    for attempt in range(1, attempts + 1):
        ready.unlink(missing_ok=True)
        command = [sys.executable, "-m", "billing.cli", "stack", "--port", str(free_port()),
                   "--s3-port", str(free_port()), "--smtp-port", str(free_port()),
                   "--database", database, "--ready-file", str(ready), *args]
        with open(log_path, "w") as out:
            process = subprocess.Popen(command, cwd=root, env=child_env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        if ready.exists():
            break
        if process.poll() is None:
            process.kill()
            process.wait()
        text = log_path.read_text(errors="replace")
        if "Address already in use" not in text or attempt == attempts:
            raise RuntimeError(f"the local stack did not start:\n{text[-4000:]}")
        log("a port was taken before the stack bound it; starting again on other ports")
    info = json.loads(ready.read_text())
    info.update(process=process, logPath=str(log_path))
    try:
        yield info
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
