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

_modules: dict[str, ModuleType] = {}
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


def handler_of(function: Function) -> Callable[[dict[str, Any], Any], Any]:
    """Each function module is imported once, under its own name, as a warm Lambda container would keep it."""
    with _lock:
        module = _modules.get(function.logical_id)
        if module is None:
            name = f"_fn_{function.logical_id}"
            spec = importlib.util.spec_from_file_location(name, function.module_file)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            _modules[function.logical_id] = module
    return getattr(module, function.handler_name)


def invoke(function: Function, event: dict[str, Any]) -> Any:
    return handler_of(function)(event, LambdaContext(function))
