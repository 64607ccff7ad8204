"""Every benchmark runs (tiny counts) and reports a median with its same-run baseline; no figure is judged here."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.support import ROOT


def test_each_benchmark_runs_and_reports_a_median_and_a_baseline(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--output", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(out.read_text())
    assert document["smoke"] is True and document["results"]
    for result in document["results"]:
        assert "error" not in result, result
        assert result["median"] > 0 and result["baseline"]["median"] > 0, result
