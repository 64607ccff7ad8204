"""Delivers EventBridge schedule events to the scheduled functions of template.yaml, as the cloud would."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .lambda_runtime import invoke
from .template import Function, event_functions, load_template


def schedule_event(function: Function, at: datetime) -> dict[str, Any]:
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "000000000000", "time": at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "local", "resources": [f"arn:aws:events:local:000000000000:rule/{function.logical_id}"],
        "detail": {},
    }


def scheduled_functions(root: Path) -> list[Function]:
    return event_functions(load_template(root / "template.yaml"), root, "Schedule")


def run_schedules(root: Path, at: datetime | None = None, names: list[str] | None = None) -> dict[str, Any]:
    """Invokes each scheduled function (or those named) once with the event of time `at`."""
    at = at or datetime.now(timezone.utc)
    results = {}
    for function in scheduled_functions(root):
        if names and function.logical_id not in names:
            continue
        results[function.logical_id] = invoke(function, schedule_event(function, at))
    return results
