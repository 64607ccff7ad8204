"""What every benchmark shares: timed child interpreters, medians, and the shape of one reported figure."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# What the Lambda environment sets for every function (Globals in template.yaml, plus the region).
# PYTHONDONTWRITEBYTECODE keeps the bench from writing __pycache__ into the source tree, so every run
# compiles the layer's own modules as the first run would; site-packages keep the .pyc pip wrote.
CHILD_ENV = {"AWS_DEFAULT_REGION": "eu-west-3", "POWERTOOLS_SERVICE_NAME": "billing", "PYTHONDONTWRITEBYTECODE": "1"}


def child_env() -> dict[str, str]:
    return {**os.environ, **CHILD_ENV}


def clock() -> float:
    """CLOCK_MONOTONIC is one clock for every process, so a child's stamps line up with the parent's."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


@dataclass
class Timed:
    start: float  # clock() just before the fork
    end: float  # clock() once the child has exited
    proc: subprocess.CompletedProcess[bytes]

    @property
    def elapsed(self) -> float:
        return self.end - self.start


def run_python(args: list[str]) -> Timed:
    """A fresh interpreter of this venv running `args`, timed from fork to exit; stdout and stderr captured."""
    start = clock()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=child_env(), stdin=subprocess.DEVNULL,
                          capture_output=True, check=False)
    return Timed(start, clock(), proc)


def failure(proc: subprocess.CompletedProcess[bytes]) -> str | None:
    if proc.returncode == 0:
        return None
    return f"exit {proc.returncode}: {proc.stderr.decode(errors='replace').strip()[-600:]}"


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def figure(name: str, unit: str, samples: list[float], baseline_what: str, baseline: list[float],
           target: float | None, **extra: Any) -> dict[str, Any]:
    """One reported figure from raw samples in seconds, shown in ms: lower is better, target is a ceiling."""
    if not samples or not baseline:
        return {"name": name, "unit": unit, "median": None, "baseline": {"what": baseline_what, "median": None},
                "ratio": None, "runs": len(samples), "target": target, "target_met": None if target is None else False,
                **extra}
    value, base = median(samples), median(baseline)
    return {
        "name": name,
        "unit": unit,
        "median": ms(value),
        "min": ms(min(samples)),
        "max": ms(max(samples)),
        "baseline": {"what": baseline_what, "median": ms(base)},
        "ratio": round(value / base, 2) if base else None,
        "runs": len(samples),
        "target": target,
        "target_met": None if target is None else ms(value) <= target,
        **extra,
    }


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 once it is gone, or elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    """Progress goes to stderr: stdout carries the JSON document only."""
    print(message, file=sys.stderr, flush=True)


def rate(name: str, unit: str, samples: list[float], baseline_what: str, baseline: list[float],
         target: float | None, **extra: Any) -> dict[str, Any]:
    """One reported throughput figure (events/s, invoices/s) from per-repetition rates: higher is better, the
    target is a floor, and `ratio` is median / baseline median (above 1: faster than the baseline)."""
    value = round(median(samples), 1) if samples else None
    base = round(median(baseline), 1) if baseline else None
    return {
        "name": name, "unit": unit, "median": value,
        "min": round(min(samples), 1) if samples else None, "max": round(max(samples), 1) if samples else None,
        "baseline": {"what": baseline_what, "median": base},
        "ratio": round(value / base, 2) if value is not None and base else None,
        "runs": len(samples), "target": target, "target_kind": "floor",
        "target_met": None if target is None else (value is not None and value >= target),
        **extra,
    }


def amount(name: str, unit: str, samples: list[float], baseline_what: str, baseline: list[float],
           target_ratio: float | None, **extra: Any) -> dict[str, Any]:
    """One reported figure in a unit other than time (MB, ...), values as given: lower is better, and the target
    is a ceiling on `ratio` (median / baseline median), e.g. 1.10 for "no growth beyond 10 %"."""
    value = round(median(samples), 1) if samples else None
    base = round(median(baseline), 1) if baseline else None
    ratio = round(median(samples) / median(baseline), 3) if samples and baseline and median(baseline) else None
    return {
        "name": name, "unit": unit, "median": value,
        "min": round(min(samples), 1) if samples else None, "max": round(max(samples), 1) if samples else None,
        "baseline": {"what": baseline_what, "median": base},
        "ratio": ratio, "runs": len(samples), "target": target_ratio, "target_kind": "ratio_ceiling",
        "target_met": None if target_ratio is None else (ratio is not None and ratio <= target_ratio),
        **extra,
    }
