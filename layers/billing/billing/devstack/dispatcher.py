"""Delivers queued events to functions as Lambda would: S3 notifications one by one (the S3 trigger), and SQS
messages in batches with partial batch failures (the SQS event source mapping)."""
from __future__ import annotations

import json
import logging
import threading
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from .lambda_runtime import invoke
from .template import Function

log = logging.getLogger("billing.dispatcher")


class Dispatcher:
    def __init__(self, sqs, queue_url: str, function: Function, wait_seconds: int = 1) -> None:
        self.sqs, self.queue_url, self.function, self.wait = sqs, queue_url, function, wait_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="s3-dispatcher", daemon=True)

    def start(self) -> "Dispatcher":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.wait + 5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain_once()
            except Exception:  # noqa: BLE001 - keep delivering; the failed message becomes visible again
                log.exception("dispatch failed")
                self._stop.wait(1)

    def drain_once(self) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=self.wait
        ).get("Messages", [])
        for message in messages:
            try:
                event = json.loads(message["Body"])
                if event.get("Event") != "s3:TestEvent" and event.get("Records"):
                    invoke(self.function, as_aws_delivers(event))
            except Exception:  # noqa: BLE001 - left on the queue: retried, then dead-lettered after 3 receives
                log.exception("delivery to %s failed", self.function.logical_id)
                continue
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)


def as_aws_delivers(event: dict[str, Any]) -> dict[str, Any]:
    """moto's S3 notification, completed to the record AWS sends: the fields moto leaves out are filled in,
    and the key is encoded as S3 encodes it (spaces as '+', slashes kept)."""
    records = []
    for record in event.get("Records", []):
        record = {
            "userIdentity": {"principalId": "AWS:LOCAL"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"},
            **record,
        }
        s3 = dict(record.get("s3", {}))
        s3["bucket"] = {"ownerIdentity": {"principalId": "LOCAL"}, **s3.get("bucket", {})}
        obj = dict(s3.get("object", {}))
        obj["key"] = quote_plus(unquote_plus(obj.get("key", "")), safe="/")
        obj.setdefault("sequencer", "0")
        s3["object"] = obj
        record["s3"] = s3
        records.append(record)
    return {"Records": records}


class SqsEventSource:
    """Polls a queue and invokes the function with SQS batch events; deletes what succeeded. Failed messages
    come back after the visibility timeout and go to the dead-letter queue after maxReceiveCount."""

    def __init__(self, sqs, queue_url: str, queue_arn: str, function: Function, batch_size: int = 10,
                 wait_seconds: int = 1, region: str = "local") -> None:
        self.sqs, self.queue_url, self.queue_arn, self.function = sqs, queue_url, queue_arn, function
        self.batch_size, self.wait, self.region = batch_size, wait_seconds, region
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"sqs-{function.logical_id}", daemon=True)

    def start(self) -> "SqsEventSource":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.wait + 30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain_once()
            except Exception:  # noqa: BLE001 - keep polling; the batch becomes visible again
                log.exception("delivery to %s failed", self.function.logical_id)
                self._stop.wait(1)

    def drain_once(self) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size, WaitTimeSeconds=self.wait,
            AttributeNames=["All"], MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        try:
            result = invoke(self.function, event) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:  # noqa: BLE001 - the whole batch failed, as when a Lambda invocation errors
            log.exception("%s failed on a batch", self.function.logical_id)
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        return len(messages)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": message.get("Attributes", {}), "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }
