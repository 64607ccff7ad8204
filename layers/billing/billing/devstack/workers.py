"""Worker processes: the queue-driven functions of the local stack in interpreters of their own.

Lambda runs concurrent instances of a function in separate sandboxes; threads of one process share one GIL
and so one core. `billing stack --workers N` starts N processes (`python -m billing.devstack.workers SPEC`),
each with its own interpreter, database pool and boto3 clients, each polling every queue the stack delivers:
the SQS event sources of template.yaml (batches, partial batch failures, redrive after maxReceiveCount) and
the S3 ObjectCreated queue. `--workers 0` keeps them as threads of the stack's process.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from billing.config import settings

from .processes import ChildProcesses, stop_event, wait_for_stop

log = logging.getLogger("billing.workers")


def spec(root: Path, events_queue_url: str | None, sources: list[tuple[Any, str, str, int]], region: str) -> dict:
    """What a worker process polls: [(Function, queue url, queue arn, batch size)] and the S3 events queue."""
    return {"root": str(root), "eventsQueueUrl": events_queue_url, "region": region,
            "sources": [{"function": f.logical_id, "url": url, "arn": arn, "batch": batch}
                        for f, url, arn, batch in sources]}


def start_pollers(work: dict) -> list[Any]:
    """The pollers of one worker (threads of the calling process), started; each has .stop()."""
    from .dispatcher import Dispatcher, SqsEventSource
    from .s3 import client
    from .template import event_functions, load_template, sqs_sources

    root = Path(work["root"])
    template = load_template(root / "template.yaml")
    functions = {f.logical_id: f for f, _q, _b in sqs_sources(template, root)}
    cfg = settings()
    pollers: list[Any] = []
    if work.get("eventsQueueUrl"):
        s3_function = event_functions(template, root, "S3")[0]
        pollers.append(Dispatcher(client(cfg, "sqs"), work["eventsQueueUrl"], s3_function).start())
    for source in work["sources"]:
        function = functions[source["function"]]
        pollers.append(SqsEventSource(client(cfg, "sqs"), source["url"], source["arn"], function,
                                      batch_size=source["batch"], region=work["region"]).start())
    return pollers


class WorkerProcesses(ChildProcesses):
    """N worker processes; stop() asks each to finish its batch (SIGTERM), then kills what is left."""

    def __init__(self, work: dict, count: int, ready_dir: Path) -> None:
        super().__init__("worker", "billing.devstack.workers", [json.dumps(work)], count, ready_dir)


def main(argv: list[str]) -> int:
    work, ready = json.loads(argv[0]), Path(argv[1])
    logging.basicConfig(level=os.environ.get("STACK_LOG_LEVEL", "WARNING"))
    stop = stop_event()
    from .lambda_runtime import handler_of
    from .template import event_functions, load_template, sqs_sources

    # Warm, as a Lambda instance is once it has served its first event: imports paid before the ready file.
    root = Path(work["root"])
    template = load_template(root / "template.yaml")
    for function, _queue, _batch in sqs_sources(template, root):
        if any(s["function"] == function.logical_id for s in work["sources"]):
            handler_of(function)
    if work.get("eventsQueueUrl"):
        handler_of(event_functions(template, root, "S3")[0])
    pollers = start_pollers(work)
    ready.write_text(str(os.getpid()))
    wait_for_stop(stop)
    for poller in pollers:
        poller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
