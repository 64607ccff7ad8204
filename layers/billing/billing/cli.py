"""The `billing` command: migrate, token, schedule, invoice-run, usage import, stack (the local stack behind
`make run`)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from billing.config import settings


def _project_root() -> Path:
    here = Path.cwd()
    for candidate in (here, *here.parents):
        if (candidate / "template.yaml").exists():
            return candidate
    raise SystemExit("run this from the project (no template.yaml found above the current directory)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="billing", description="TwinMCP Billing tools")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="apply the missing SQL migrations to DATABASE_URL")

    token = sub.add_parser("token", help="print a local HS256 token (LOCAL_JWT_SECRET)")
    token.add_argument("--user", required=True, help="the caller's user id (UUID)")
    token.add_argument("--admin", action="store_true", help="add the billing:admin scope")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires (default 3600)")

    stack = sub.add_parser("stack", help="run the local stack in the foreground (make run)")
    stack.add_argument("--port", type=int, default=int(os.environ.get("GATEWAY_PORT", 3000)))
    stack.add_argument("--s3-port", type=int, default=int(os.environ.get("S3_PORT", 4566)))
    stack.add_argument("--smtp-port", type=int, default=int(os.environ.get("SMTP_SINK_PORT", 1025)))
    stack.add_argument("--database", default=os.environ.get("LOCAL_DATABASE", "billing_local"))
    stack.add_argument("--own-services", action="store_true",
                       default=os.environ.get("BILLING_OWN_SERVICES") == "1",
                       help="ignore running PostgreSQL/Redis and start our own on free ports")
    stack.add_argument("--no-seed", action="store_true", help="skip the demo data")
    stack.add_argument("--ready-file", type=Path, help="write the URLs and tokens as JSON here once ready")
    stack.add_argument("--workers", type=int, default=int(os.environ.get("STACK_WORKERS", 1)),
                       help="processes running the queue-driven functions, as concurrent Lambda instances "
                            "(default 1; 0: threads of the stack's process)")
    stack.add_argument("--gateway-processes", type=int, default=int(os.environ.get("STACK_GATEWAY_PROCESSES", 2)),
                       help="processes serving the HTTP API on one port, as concurrent Lambda sandboxes "
                            "(default 2; 0: threads of the stack's process)")

    schedule = sub.add_parser("schedule", help="deliver the schedule events of template.yaml to their functions now")
    schedule.add_argument("functions", nargs="*", help="logical ids (default: every scheduled function)")
    schedule.add_argument("--date", help="the schedule's date, YYYY-MM-DD (default: now)")

    run = sub.add_parser("invoice-run", help="the monthly run on the running local stack: scheduler -> queue -> worker")
    run.add_argument("--period", required=True, help="the month to invoice, YYYY-MM")

    usage_cmd = sub.add_parser("usage", help="usage events")
    usage_actions = usage_cmd.add_subparsers(dest="usage_command", required=True)
    usage_import = usage_actions.add_parser(
        "import", help="load CSV files (eventId,userId,timestamp,requests) into DATABASE_URL with COPY; "
                       "events already recorded are skipped, so a file can be sent again")
    usage_import.add_argument("files", nargs="+", type=Path, metavar="FILE.csv", help="'-' reads standard input")

    audit_cmd = sub.add_parser("audit", help="the audit trail")
    audit_cmd.add_argument("action", choices=["verify"], help="verify: check the hash chain, name the first broken row")

    from billing.einvoice import command as einvoice_command  # billing einvoice validate FILE.pdf

    einvoice_command.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "einvoice":
        return einvoice_command.run(args)
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "billing")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # the functions run in this process: keep it readable
    if args.command == "migrate":
        from billing.ports.db.migrate import migrate

        applied = migrate(settings().database_url)
        print(f"{len(applied)} migration(s) applied" if applied else "up to date")
    elif args.command == "token":
        from billing.devstack.tokens import make_token
        from billing.domain.errors import InvalidUserId
        from billing.domain.ids import parse_uuid

        try:
            user = parse_uuid(args.user, InvalidUserId)
        except InvalidUserId as exc:
            parser.error(exc.detail)
        print(make_token(settings(), user, admin=args.admin, ttl=args.ttl))
    elif args.command == "schedule":
        import json
        from datetime import datetime, timezone

        from billing.devstack.schedules import run_schedules

        at = datetime.fromisoformat(args.date).replace(hour=3, tzinfo=timezone.utc) if args.date else None
        print(json.dumps(run_schedules(_project_root(), at, args.functions or None), indent=2, default=str))
    elif args.command == "invoice-run":
        import json

        from billing.devstack.invoice_run import invoice_run
        from billing.domain.period import Period

        root = _project_root()
        state = root / ".local" / "stack.json"
        if not state.exists():
            raise SystemExit("no local stack is running here: start it with `make run` first")
        info = json.loads(state.read_text())
        os.environ.update(info["env"])
        settings.cache_clear()
        try:
            year, month = (int(part) for part in args.period.split("-"))
            period = Period.month(year, month)
        except ValueError:
            parser.error("--period is a month: YYYY-MM")
        summary = invoice_run(root, period, dlq_url=info["queues"]["InvoiceJobsDeadLetterQueue"]["url"])
        return 1 if summary["failed"] or summary["unfinished"] else 0
    elif args.command == "usage":
        return _import_usage(args.files)
    elif args.command == "audit":
        from billing.services.audit import verify_chain

        checked, broken = verify_chain()
        if broken is not None:
            print(f"BROKEN at seq {broken}: the chain holds for the {checked} row(s) before it")
            return 1
        print(f"OK: {checked} row(s), the chain holds")
    elif args.command == "stack":
        from billing.devstack.stack import StackOptions, run_stack

        run_stack(StackOptions(root=_project_root(), gateway_port=args.port, s3_port=args.s3_port,
                               smtp_port=args.smtp_port, database=args.database, own_services=args.own_services,
                               seed=not args.no_seed, ready_file=args.ready_file,
                               workers=args.workers, gateway_processes=args.gateway_processes))
    return 0


def _import_usage(files: list[Path]) -> int:
    """One line per file: events new and duplicate, or the error's stable code (exit 1 on any error)."""
    from billing.domain.errors import BillingError
    from billing.services.usage.ingest import ingest_csv

    failed = False
    for path in files:
        try:
            with (open(path, "rb") if str(path) != "-" else sys.stdin.buffer) as stream:
                result = ingest_csv(stream)
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror}")
            failed = True
        except BillingError as exc:
            print(f"{path}: {exc.code}: {exc}")
            failed = True
        else:
            print(f"{path}: {result.accepted} event(s) recorded, {result.duplicates} duplicate(s) skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
