"""The audit trail: append-only rows, each holding the hash of the one before (a tamper-evident chain)."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Iterator

from . import Database, Tx

CHAIN_LOCK = 7_294_114  # one writer at a time extends the chain, until its transaction ends
COLUMNS = ("seq, occurred_at, actor, action, target_type, target_id, details, ip, user_agent, prev_hash, hash")


def row_hash(prev: bytes | None, occurred_at: datetime, actor: str, action: str, target_type: str, target_id: str,
             details: dict[str, Any], ip: str | None, user_agent: str | None) -> bytes:
    canonical = f'["{occurred_at.isoformat()}",' + _canonical_rest(actor, action, target_type, target_id, details, ip,
                                                                    user_agent)
    return hashlib.sha256((prev or b"") + canonical.encode()).digest()


def _canonical_rest(actor: str, action: str, target_type: str, target_id: str, details: dict[str, Any],
                    ip: str | None, user_agent: str | None) -> str:
    """The canonical event after its timestamp: the tail of the JSON array, without its opening bracket."""
    return json.dumps([actor, action, target_type, target_id, details, ip, user_agent],
                      sort_keys=True, separators=(",", ":"), default=str)[1:]


def append(tx: Tx, *, actor: str, action: str, target_type: str, target_id: str, details: dict[str, Any],
           ip: str | None, user_agent: str | None) -> None:
    """One round trip (audit_append, migration 0012): the chain lock is taken on the server and held until the
    caller's transaction ends, so an audited transaction should append last, just before it commits."""
    tx.value(APPEND, **_params(actor, action, target_type, target_id, details, ip, user_agent, durable=True))


def append_read(db: Database, *, actor: str, action: str, target_type: str, target_id: str,
                details: dict[str, Any], ip: str | None, user_agent: str | None) -> None:
    """A read's row, in a transaction of its own that commits on the server without waiting for the WAL flush:
    the chain lock is held for the function and the commit only, never across a round trip to the client."""
    db.run_alone(APPEND, **_params(actor, action, target_type, target_id, details, ip, user_agent, durable=False))


APPEND = "SELECT audit_append(:k, :actor, :action, :tt, :tid, CAST(:details AS jsonb), :ip, :ua, :rest, :durable)"


def _params(actor: str, action: str, target_type: str, target_id: str, details: dict[str, Any], ip: str | None,
            user_agent: str | None, *, durable: bool) -> dict[str, Any]:
    return dict(k=CHAIN_LOCK, actor=actor, action=action, tt=target_type, tid=target_id,
                details=json.dumps(details, sort_keys=True, default=str), ip=ip, ua=user_agent,
                rest=_canonical_rest(actor, action, target_type, target_id, details, ip, user_agent),
                durable=durable)


def for_target(tx: Tx, target_id: str, limit: int) -> list[dict[str, Any]]:
    return tx.all(f"SELECT {COLUMNS} FROM audit_events WHERE target_id = :t ORDER BY seq DESC LIMIT :l",
                  t=target_id, l=limit)


def walk(tx: Tx, batch: int = 1000) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        rows = tx.all(f"SELECT {COLUMNS} FROM audit_events WHERE seq > :s ORDER BY seq LIMIT :l", s=after, l=batch)
        if not rows:
            return
        yield from rows
        after = rows[-1]["seq"]


def history(tx: Tx, target_id: str, actions: tuple[str, ...]) -> list[dict[str, Any]]:
    """The target's rows among `actions`, oldest first."""
    return tx.all(f"SELECT {COLUMNS} FROM audit_events WHERE target_id = :t AND action = ANY(:a) ORDER BY seq",
                  t=target_id, a=list(actions))
