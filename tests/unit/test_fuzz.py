"""The atheris harness, bounded: any crash (an exception other than the typed errors) fails the test."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "fuzz" / "fuzz_request_parsing.py"


def test_request_parsers_survive_fuzzing(tmp_path):
    pytest.importorskip("atheris", reason="atheris is not installable on this platform")
    done = subprocess.run([sys.executable, str(HARNESS), "-runs=30000", "-max_total_time=60", "-seed=20261121",
                           f"-artifact_prefix={tmp_path}/"], capture_output=True, text=True, timeout=180,
                          env={"PATH": "/usr/bin:/bin", "RATE_LIMIT_PER_MINUTE": "0"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 30000 runs" in done.stderr or "DONE" in done.stderr.upper(), done.stderr[-1000:]
