"""Unit tests open no sockets: any attempt to connect or resolve a name fails the test loudly."""
from __future__ import annotations

import socket

import pytest


class SocketUsed(RuntimeError):
    """A unit test tried to reach the network (PostgreSQL, Redis, S3, SMTP ...)."""


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise SocketUsed(f"unit tests must not open sockets: {args[1:] or kwargs}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(autouse=True)
def _no_rate_limit(monkeypatch: pytest.MonkeyPatch):
    """The limiter counts in Redis; the integration tests exercise it against the real server."""
    from billing.config import settings

    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "0")
    settings.cache_clear()
    yield
    monkeypatch.undo()
    settings.cache_clear()
