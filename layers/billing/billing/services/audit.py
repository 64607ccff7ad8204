"""Who did what to which record: the actor of the current request, and audit rows written with the change.

The HTTP edge sets the actor once per request (billing.api.http.caller); event functions run as `system`.
"""
from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from billing.ports.db import Database, Tx, audit, database


@dataclass(frozen=True)
class Actor:
    id: str  # a user id, or system:<function>
    ip: str | None = None
    user_agent: str | None = None


_actor: ContextVar[Actor] = ContextVar("audit_actor", default=Actor("system"))


def act_as(actor: Actor) -> None:
    _actor.set(actor)


def record(tx: Tx, action: str, target_type: str, target_id: str, **details: Any) -> None:
    """Append an audit row in the caller's transaction: it commits, or vanishes, with the change it records."""
    actor = _actor.get()
    audit.append(tx, actor=actor.id, action=action, target_type=target_type, target_id=str(target_id),
                 details=details, ip=actor.ip, user_agent=actor.user_agent)


def record_read(action: str, target_type: str, target_id: str, *, db: Database | None = None, **details: Any) -> None:
    """Audit a read, after it: its own one-statement transaction, committed without waiting for the WAL flush
    (migration 0012). Reads are most requests and the chain takes one commit at a time, so a read holds the
    chain's lock only on the server, for microseconds. The row becomes durable with the next change's commit;
    a database crash can lose the last fraction of a second of read events, never break the chain."""
    actor = _actor.get()
    audit.append_read(db or database(), actor=actor.id, action=action, target_type=target_type,
                      target_id=str(target_id), details=details, ip=actor.ip, user_agent=actor.user_agent)


def trail(target_id: str, *, limit: int = 200, db: Database | None = None) -> list[dict[str, Any]]:
    with (db or database()).transaction() as tx:
        return audit.for_target(tx, target_id, limit)


def verify_chain(*, db: Database | None = None) -> tuple[int, int | None]:
    """(rows checked, seq of the first row whose hash or link is wrong, or None when the chain holds)."""
    checked, prev = 0, None
    with (db or database()).transaction() as tx:
        for row in audit.walk(tx):
            expected = audit.row_hash(prev, row["occurred_at"], row["actor"], row["action"], row["target_type"],
                                      row["target_id"], row["details"], row["ip"], row["user_agent"])
            if row["prev_hash"] != prev or row["hash"] != expected:
                return checked, row["seq"]
            prev, checked = row["hash"], checked + 1
    return checked, None
