"""Every benchmark runs (tiny counts) and reports a median with its same-run baseline; no figure is judged here."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import TEST_DATABASE
from tests.support import ROOT


@pytest.mark.timeout(600)  # the suite's 300 s would kill it first on a loaded machine
def test_each_benchmark_runs_and_reports_a_median_and_a_baseline(infra, tmp_path):
    out = tmp_path / "bench.json"
    # The session's PostgreSQL and Redis (DATABASE_URL, REDIS_URL are set by `infra`), databases of its own.
    env = {**os.environ, "BILLING_BENCH_DATABASE_PREFIX": f"{TEST_DATABASE}_bench_"}
    # A session of its own, killed whole at the end: a benchmark's local stack and its workers never outlive it.
    process = subprocess.Popen([sys.executable, "-m", "bench", "--smoke", "--output", str(out)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=540)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == 0, stderr[-2000:]
    document = json.loads(out.read_text())
    assert document["smoke"] is True and document["results"]
    for result in document["results"]:
        assert "error" not in result, result
        assert result["median"] > 0 and result["baseline"]["median"] > 0, result
