"""The local runtime runs concurrent invocations of one function on separate instances, as Lambda does."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from billing.devstack import lambda_runtime
from billing.devstack.template import Function

# Module state shared by every invocation of an instance, as Powertools' `app.current_event` is.
APP = '''
import threading, time
current = {}
def handler(event, context):
    current["event"] = event
    time.sleep(0.02)  # long enough for another invocation to overwrite `current` if it shared this module
    return {"mine": event["n"], "seen": current["event"]["n"]}
'''


def _function(tmp_path, name: str) -> Function:
    (tmp_path / "app.py").write_text(APP)
    return Function(logical_id=name, code_dir=tmp_path, module_file=tmp_path / "app.py", handler_name="handler",
                    timeout=30, memory=512)


def test_concurrent_invocations_never_share_module_state(tmp_path):
    function = _function(tmp_path, "ConcurrencyProbeFunction")
    start = threading.Barrier(8)

    def call(n: int) -> dict:
        start.wait()
        return lambda_runtime.invoke(function, {"n": n})

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    assert [r["seen"] for r in results] == list(range(8))
    assert 2 <= lambda_runtime.instances(function) <= 8


def test_sequential_invocations_reuse_one_warm_instance(tmp_path):
    function = _function(tmp_path, "WarmProbeFunction")
    for n in range(5):
        assert lambda_runtime.invoke(function, {"n": n}) == {"mine": n, "seen": n}
    assert lambda_runtime.instances(function) == 1
