"""Children of the local stack never outlive it, even when it is killed while they are still starting."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap

from billing.devstack.processes import STACK_PID
from tests.support import processes_gone

# A stack that starts one child the way ChildProcesses does, prints its pid, then waits to be killed.
STACK = textwrap.dedent("""
    import os, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], env={**os.environ, sys.argv[2]: str(os.getpid())})
    print(child.pid, flush=True)
    time.sleep(60)
""")
# The child: 1.5 s of start-up (imports, the template, the gateway) before it begins to watch its stack.
CHILD = textwrap.dedent("""
    import time
    time.sleep(1.5)
    from billing.devstack.processes import stop_event, wait_for_stop
    wait_for_stop(stop_event())
""")


def test_a_child_still_starting_when_its_stack_is_killed_exits_too():
    stack = subprocess.Popen([sys.executable, "-c", STACK, CHILD, STACK_PID], stdout=subprocess.PIPE, text=True)
    child = int(stack.stdout.readline())
    os.kill(stack.pid, signal.SIGKILL)  # before the child has reached wait_for_stop
    stack.wait()
    try:
        assert processes_gone([child], timeout=10), "the child outlived its killed stack"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
