"""Runs the benchmarks: one JSON document on stdout and in bench/results/latest.json. Never fails on a figure."""
from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path
from datetime import date
from typing import Any

from .measure import ROOT, log
from .stack import shared_services

# One module per benchmark, each with run(smoke: bool) -> dict; in the order of issue 8's table.
# Issue 8's order: render_pdf, monthly_run, ingest_usage, aggregate_usage, cold_import, list_latency, worker_memory.
BENCHMARKS = ["render_pdf", "monthly_run", "ingest_usage", "aggregate_usage", "cold_import", "list_latency",
              "worker_memory"]
RESULTS = ROOT / "bench" / "results" / "latest.json"


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu_count": os.cpu_count(), "cpu": cpu or None, "python": platform.python_version(),
            "implementation": platform.python_implementation(), "platform": platform.platform(),
            "load_average_at_start": _load()}


def _load() -> list[float] | None:
    """Other work on the machine shows in the figures; the load average says whether there was any."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def revision() -> dict[str, Any] | None:
    """Which code was measured: the commit, and whether the working tree differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    try:
        return {"commit": git("rev-parse", "--short", "HEAD"),
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", "layers", "functions"))}
    except (OSError, subprocess.CalledProcessError):
        return None


def run_one(name: str, smoke: bool) -> dict[str, Any]:
    """A benchmark that raises is reported as missed, with the error, never as a failed run."""
    start = time.perf_counter()
    try:
        result = importlib.import_module(f"bench.{name}").run(smoke)
    except Exception as exc:  # noqa: BLE001 - benchmarks report, they do not fail
        log(traceback.format_exc())
        result = {"name": name, "error": f"{type(exc).__name__}: {exc}", "median": None, "target_met": False}
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny repetition counts: checks the benchmarks run")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"where the JSON goes too (default {RESULTS})")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"only these benchmarks ({', '.join(BENCHMARKS)}); default all")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    document = {
        "machine": machine(),
        "date": date.today().isoformat(),
        "smoke": args.smoke,
        "revision": revision(),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
    }
    with shared_services():
        document["results"] = [run_one(name, args.smoke) for name in (args.names or BENCHMARKS)]
    document["machine"]["load_average_at_end"] = _load()
    text = json.dumps(document, indent=2, ensure_ascii=False)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
