"""Loads handlers from functions/<name>/app.py and invokes them with a Lambda-like context."""
from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from types import ModuleType
from typing import Any, Callable

from .template import Function

# Lambda never runs two invocations in one sandbox at once: a function's module state (Powertools' resolver keeps
# the current event on its `app`) belongs to one invocation at a time. So each function has a pool of instances,
# each its own module object: an invocation takes an idle one, or loads another (a cold start) when all are busy.
_instances: dict[str, list[ModuleType]] = {}  # the idle instances of each function
_loaded: dict[str, int] = {}  # how many instances each function has loaded
_lock = threading.Lock()


class LambdaContext:
    def __init__(self, function: Function) -> None:
        self.function_name = function.logical_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{function.logical_id}"
        self.memory_limit_in_mb = function.memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.logical_id}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _load(function: Function) -> ModuleType:
    """A new instance of the function: its app.py executed as a module of its own, as a new sandbox would."""
    with _lock:
        number = _loaded.get(function.logical_id, 0)
        _loaded[function.logical_id] = number + 1
    name = f"_fn_{function.logical_id}" + (f"_{number}" if number else "")
    spec = importlib.util.spec_from_file_location(name, function.module_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _acquire(function: Function) -> ModuleType:
    with _lock:
        idle = _instances.setdefault(function.logical_id, [])
        if idle:
            return idle.pop()
    return _load(function)


def _release(function: Function, module: ModuleType) -> None:
    with _lock:
        _instances[function.logical_id].append(module)


def handler_of(function: Function) -> Callable[[dict[str, Any], Any], Any]:
    """The handler of an idle instance, kept warm for the next call: for one caller at a time (tests)."""
    module = _acquire(function)
    _release(function, module)
    return getattr(module, function.handler_name)


def invoke(function: Function, event: dict[str, Any]) -> Any:
    """One invocation on an instance of its own for its whole duration; concurrent invocations never share one."""
    module = _acquire(function)
    try:
        return getattr(module, function.handler_name)(event, LambdaContext(function))
    finally:
        _release(function, module)


def instances(function: Function) -> int:
    """How many instances of the function were loaded (its cold starts)."""
    with _lock:
        return _loaded.get(function.logical_id, 0)
