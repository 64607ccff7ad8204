"""SQS: send messages in batches of 10 (the API's limit), retrying the entries SQS reports as failed."""
from __future__ import annotations

import json
import threading
from typing import Any

from billing.config import settings

BATCH = 10

_client = None
_lock = threading.Lock()


def client():
    global _client
    with _lock:
        if _client is None:
            import boto3  # here, not at module top: about 90 ms that only the sending path needs
            from botocore.config import Config

            cfg = settings()
            _client = boto3.session.Session().client(
                "sqs", endpoint_url=cfg.sqs_endpoint_url, region_name=cfg.aws_region,
                config=Config(retries={"mode": "standard", "max_attempts": 5}))
        return _client


def send_all(queue_url: str, bodies: list[dict[str, Any]]) -> int:
    """Sends every body as one message; returns how many were sent. Raises when SQS keeps refusing one."""
    sent = 0
    for start in range(0, len(bodies), BATCH):
        entries = [{"Id": str(i), "MessageBody": json.dumps(body)} for i, body in enumerate(bodies[start:start + BATCH])]
        for _ in range(3):
            failed = client().send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
            sent += len(entries) - len(failed)
            retry = {f["Id"] for f in failed if not f.get("SenderFault")}
            entries = [e for e in entries if e["Id"] in retry]
            if not entries:
                break
        if entries or failed:
            raise RuntimeError(f"SQS refused {len(failed)} message(s): {failed[:3]}")
    return sent
