"""The local runtime runs concurrent invocations of one function on separate instances, as Lambda does."""
from __future__ import annotations

import json
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


# A real HTTP function: Powertools keeps the current event on its BaseRouter class, shared by every resolver.
HTTP_APP = '''
import json, time
from billing.api.http import make_app
app = make_app()

@app.post("/probe")
def probe():
    first = app.current_event.body
    time.sleep(0.02)  # another invocation's resolve() runs meanwhile
    return {"first": first, "later": app.current_event.body}

def handler(event, context):
    return app.resolve(event, context)
'''


def _http_event(n: int) -> dict:
    return {"version": "2.0", "routeKey": "POST /probe", "rawPath": "/probe", "rawQueryString": "", "headers": {},
            "requestContext": {"http": {"method": "POST", "path": "/probe"}, "stage": "$default"},
            "body": str(n), "isBase64Encoded": False}


def test_concurrent_http_invocations_each_read_their_own_event_even_across_functions(tmp_path):
    functions = []
    for name in ("ProbeOneFunction", "ProbeTwoFunction"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(HTTP_APP)
        functions.append(Function(logical_id=name, code_dir=tmp_path / name, module_file=tmp_path / name / "app.py",
                                  handler_name="handler", timeout=30, memory=512))
    start = threading.Barrier(8)

    def call(n: int) -> dict:
        start.wait()
        return json.loads(lambda_runtime.invoke(functions[n % 2], _http_event(n))["body"])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    assert results == [{"first": str(n), "later": str(n)} for n in range(8)]
