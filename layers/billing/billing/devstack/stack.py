"""`make run`: PostgreSQL and Redis, S3 + SQS (moto), an SMTP sink, the S3-event dispatcher and the gateway."""
from __future__ import annotations

import json
import logging
import os
import signal
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable

from billing.config import settings
from billing.ports.db.migrate import migrate

from .services import ensure_services, recreate_database
from .template import http_routes, load_template, sqs_sources


@dataclass
class StackOptions:
    root: Path
    gateway_port: int = 3000
    s3_port: int = 4566
    smtp_port: int = 1025
    database: str = "billing_local"
    own_services: bool = False
    seed: bool = True
    ready_file: Path | None = None
    workers: int = 1  # processes running the queue-driven functions; 0: threads of the stack's process
    gateway_processes: int = 2  # processes serving the HTTP API; 0: threads of the stack's process
    today: date = field(default_factory=date.today)


def run_stack(opts: StackOptions, log: Callable[[str], None] = print) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    cleanups: list[Callable[[], Any]] = []
    try:
        info = start_stack(opts, cleanups, log)
        if opts.ready_file:
            opts.ready_file.write_text(json.dumps(info))
        log("Ready. Ctrl-C stops everything.")
        stop.wait()
        log("Stopping...")
    finally:
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - keep stopping the rest
                log(f"  while stopping: {exc!r}")
        log("Stopped.")


def start_stack(opts: StackOptions, cleanups: list[Callable[[], Any]], log: Callable[[str], None]) -> dict[str, Any]:
    logging.basicConfig(level=os.environ.get("STACK_LOG_LEVEL", "WARNING"))
    services = ensure_services(opts.root, opts.database, own=opts.own_services, log=log)
    cleanups.append(services.stop)
    embedded_s3 = not os.environ.get("S3_ENDPOINT_URL") and os.environ.get("STORAGE_PROVIDER", "s3") != "minio"
    os.environ.update({
        "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(opts.smtp_port),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-3"),
        "POWERTOOLS_SERVICE_NAME": "billing", "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
    })
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    if embedded_s3:
        os.environ["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{opts.s3_port}"
        # moto keeps objects in memory: a database from an earlier run would point at PDFs that are gone.
        recreate_database(services.admin_database_url, opts.database)
    settings.cache_clear()
    cfg = settings()
    if embedded_s3:
        from billing.ports import cache

        cache.clear_namespace()  # entries of the database this run replaced
    for name in migrate(cfg.database_url, log=lambda _m: None):
        log(f"  migration {name}")

    from .gateway import Gateway, GatewayProcesses
    from .s3 import client, provision, provision_queues, start_moto
    from .smtp import start_sink
    from .workers import WorkerProcesses, start_pollers
    from .workers import spec as worker_spec

    template = load_template(opts.root / "template.yaml")
    queues: dict[str, dict[str, str]] = {}
    worker_pids: list[int] = []
    if embedded_s3:
        moto = start_moto(opts.s3_port)
        cleanups.append(moto.stop)
        resources = provision(cfg)
        queues = provision_queues(cfg, template)
        os.environ.update(SQS_ENDPOINT_URL=cfg.s3_endpoint_url,
                          INVOICE_JOBS_QUEUE_URL=queues["InvoiceJobsQueue"]["url"])
        settings.cache_clear()
        cfg = settings()
        work = worker_spec(opts.root, resources.queue_url, [
            (function, queues[name]["url"], queues[name]["arn"], batch)
            for function, name, batch in sqs_sources(template, opts.root)], cfg.aws_region)
        if opts.workers > 0:
            pool = WorkerProcesses(work, opts.workers, opts.root / ".local" / "workers").start()
            cleanups.append(pool.stop)
            worker_pids = pool.pids
            log(f"  {opts.workers} worker process(es) deliver the queues: {', '.join(map(str, worker_pids))}")
        else:
            for poller in start_pollers(work):
                cleanups.append(poller.stop)
    else:
        log(f"  S3 at {cfg.s3_endpoint_url}: its ObjectCreated events and the queues are not emulated by this stack")
    mail_dir = opts.root / ".local" / "mail"
    sink = start_sink(mail_dir, opts.smtp_port)
    cleanups.append(sink.stop)
    gateway_pids: list[int] = []
    if opts.gateway_processes > 0:
        # Started after every variable above is set: each process inherits the same environment.
        gateways = GatewayProcesses(opts.root, opts.gateway_processes, opts.root / ".local" / "gateways",
                                    port=opts.gateway_port).start()
        cleanups.append(gateways.stop)
        gateway_port, gateway_pids = gateways.port, gateways.pids
        log(f"  {opts.gateway_processes} gateway process(es) serve the API: {', '.join(map(str, gateway_pids))}")
    else:
        gateway = Gateway(cfg, http_routes(template, opts.root), port=opts.gateway_port).start()
        cleanups.append(gateway.stop)
        gateway_port = gateway.port
    base = f"http://127.0.0.1:{gateway_port}"

    from .seed import ADMIN_ID, CUSTOMERS, seed
    from .tokens import make_token

    if opts.seed:
        log("Demo data: five customers and last month's usage; the month is invoiced by the monthly run")
        seed(opts.today, log=log)
        if queues:
            from billing.domain.period import Period

            from .invoice_run import invoice_run

            invoice_run(opts.root, Period.previous_month(opts.today), dlq_url=queues["InvoiceJobsDeadLetterQueue"]["url"],
                        timeout=300, out=lambda text: print(text, end="", flush=True))
    from .schedules import run_schedules

    for name, result in run_schedules(opts.root).items():  # once at start; `billing schedule` runs them again
        log(f"  schedule {name}: {result}")
    admin_token = make_token(cfg, ADMIN_ID, admin=True, ttl=12 * 3600)
    customer_token = make_token(cfg, CUSTOMERS[0][0], ttl=12 * 3600)
    log("")
    log(f"  API          {base}/billing/invoices")
    log(f"  Health       {base}/billing/health")
    log(f"  S3 API       {cfg.s3_endpoint_url} (bucket {cfg.bucket})")
    log(f"  SMTP sink    127.0.0.1:{opts.smtp_port} -> {mail_dir}/*.eml")
    log(f"  PostgreSQL   {services.database_url}")
    log(f"  Redis        {services.redis_url}")
    log("")
    log(f"  Admin token (12 h):     {admin_token}")
    log(f"  Customer token (Acme):  {customer_token}")
    log(f"  Dashboard (admin):      {base}/dashboard/sign-in#token={admin_token}")
    log(f"  Try: curl -s -H \"Authorization: Bearer $TOKEN\" {base}/billing/invoices")
    log("")
    info = {
        "baseUrl": base, "s3EndpointUrl": cfg.s3_endpoint_url, "bucket": cfg.bucket, "mailDir": str(mail_dir),
        "databaseUrl": services.database_url, "redisUrl": services.redis_url, "adminToken": admin_token,
        "customerToken": customer_token, "customerId": CUSTOMERS[0][0], "pid": os.getpid(),
        "ports": {"gateway": gateway_port, "s3": opts.s3_port if embedded_s3 else None, "smtp": opts.smtp_port},
        "queues": queues, "workerPids": worker_pids, "gatewayPids": gateway_pids,
        "env": {k: os.environ[k] for k in ("DATABASE_URL", "REDIS_URL", "S3_ENDPOINT_URL", "SQS_ENDPOINT_URL",
                                            "INVOICE_JOBS_QUEUE_URL", "SMTP_PORT", "AWS_ACCESS_KEY_ID",
                                            "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION") if k in os.environ},
    }
    state = opts.root / ".local" / "stack.json"  # lets `billing invoice-run` find this running stack
    state.write_text(json.dumps(info))
    cleanups.append(lambda: state.unlink(missing_ok=True))
    return info
