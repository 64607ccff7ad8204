"""List billing alerts: a customer sees their own, an admin anyone's."""
from __future__ import annotations

from typing import Any

from billing.domain.caller import Caller
from billing.ports.db import Database, alerts, database


def list_alerts(caller: Caller, *, user_id: str | None, db: Database | None = None) -> list[dict[str, Any]]:
    owner = caller.scope_user(user_id)
    with (db or database()).transaction() as tx:
        return alerts.for_user(tx, owner)
