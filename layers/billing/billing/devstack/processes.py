"""Child processes of the local stack (worker and gateway processes): started, awaited, stopped, never orphaned."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

STACK_PID = "BILLING_STACK_PID"  # the stack's pid, given to its children: a child's parent until the stack dies


class ChildProcesses:
    """`count` processes running `python -m module *args READY_FILE`; each writes its ready file once it serves.
    stop() sends SIGTERM (a worker finishes its batch), then kills what is left after `grace` seconds."""

    def __init__(self, name: str, module: str, args: list[str], count: int, ready_dir: Path,
                 pass_fds: tuple[int, ...] = (), grace: float = 40) -> None:
        self.name, self.module, self.args, self.count, self.ready_dir = name, module, args, count, ready_dir
        self.pass_fds, self.grace = pass_fds, grace
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, timeout: float = 120) -> "ChildProcesses":
        self.ready_dir.mkdir(parents=True, exist_ok=True)
        readies = [self.ready_dir / f"{self.name}-{os.getpid()}-{i}.ready" for i in range(self.count)]
        for ready in readies:
            ready.unlink(missing_ok=True)
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args, str(ready)],
                stdin=subprocess.DEVNULL, env={**os.environ, STACK_PID: str(os.getpid())}, pass_fds=self.pass_fds))
        deadline = time.monotonic() + timeout
        while not all(r.exists() for r in readies):
            dead = [p for p in self.processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} process did not start "
                                   f"(exit {dead[0].returncode if dead else 'timeout'})")
            time.sleep(0.1)
        for ready in readies:
            ready.unlink(missing_ok=True)
        return self

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=self.grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def stop_event() -> threading.Event:
    """Set by SIGINT (Ctrl-C reaches the whole process group) or SIGTERM (the stack's stop())."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def wait_for_stop(stop: threading.Event) -> None:
    """Returns once stopped, or once the stack that started this process is gone (killed with no time to stop
    its children): a child never outlives its stack."""
    # The stack's pid as it started this child, not os.getppid() read now: a stack killed while the child was
    # still starting has already handed it to init, and the child must notice that too.
    parent = int(os.environ.get(STACK_PID) or os.getppid())
    while os.getppid() == parent and not stop.wait(1):
        pass
