"""Record usage events in bulk; an event id seen before is skipped, never counted twice."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from billing.domain.errors import InvalidRequest, UnknownUser
from billing.ports.db import Database, alerts, database
from billing.services.alerts.notify import notify
from billing.ports.db.customers import existing_user_ids
from billing.ports.db.usage import insert_events

MAX_EVENTS = 1000


@dataclass(frozen=True)
class UsageEvent:
    event_id: str
    user_id: str
    timestamp: datetime  # timezone-aware
    requests: int


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int


def ingest_usage(events: list[UsageEvent], *, db: Database | None = None) -> IngestResult:
    db = db or database()
    if not 1 <= len(events) <= MAX_EVENTS:
        raise InvalidRequest(f"send between 1 and {MAX_EVENTS} events", code="invalid_events")
    with db.transaction() as tx:
        users = sorted({e.user_id for e in events})
        missing = sorted(set(users) - existing_user_ids(tx, users))
        if missing:
            raise UnknownUser(f"Unknown customers: {', '.join(missing[:5])}", userIds=missing[:20])
        accepted = insert_events(
            tx,
            [e.event_id for e in events],
            [e.user_id for e in events],
            [e.timestamp for e in events],
            [e.requests for e in events],
        )
        raised = alerts.raise_usage_thresholds(
            tx, [e.user_id for e in events], [e.timestamp.astimezone(timezone.utc).date() for e in events]
        ) if accepted else []
    notify(raised, db=db)
    return IngestResult(accepted=accepted, duplicates=len(events) - accepted)
