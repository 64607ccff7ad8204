"""The HTTP functions' Powertools resolver, safe when one process runs several invocations at once."""
from __future__ import annotations

import threading
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver


class Resolver(APIGatewayHttpResolver):
    """Powertools' resolver, with the current event and context its own thread's.

    Powertools keeps them on the `BaseRouter` class, shared by every resolver of the process. On Lambda one
    invocation runs per sandbox at a time, so that is harmless; the local gateway runs concurrent invocations
    on threads of one process, where a request could read another's event (its body, its caller)."""

    _invocation = threading.local()

    @property  # type: ignore[override]
    def current_event(self):
        return self._invocation.event

    @current_event.setter
    def current_event(self, value) -> None:
        self._invocation.event = value

    @property  # type: ignore[override]
    def lambda_context(self):
        return self._invocation.context

    @lambda_context.setter
    def lambda_context(self, value) -> None:
        self._invocation.context = value

    def resolve(self, event, context) -> dict[str, Any]:
        self.current_event = self._to_proxy_event(cast(dict, event))
        self.lambda_context = context
        return super().resolve(event, context)
