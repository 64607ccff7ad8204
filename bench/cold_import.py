"""Cold start of every HttpApi function: a fresh interpreter importing functions/<name>/app.py, and weasyprint.

What is timed is what a Lambda cold start pays for the module: from the fork of a fresh interpreter to the end
of the import (its startup, then the import), taken from a stamp the child prints once the import has run. A
Lambda sandbox is frozen after its init phase and later discarded, never shut down, so the interpreter's
teardown (`exit_ms`: freeing every module, which grows with how many were loaded) is no part of a cold start.
The wall time from fork to exit, teardown included, is still reported as `wall_ms`. The baseline is
`python -c pass` measured the same way: fork to its one statement having run (its startup), with its wall time.

The layer's own package is measured as deployed: the layer's build (layers/billing/Makefile, BuildMethod
makefile in template.yaml) ships bytecode compiled with `compileall --invalidation-mode unchecked-hash`, since
/opt is read-only in Lambda and bytecode written at a cold start would be lost. The bench compiles a copy of
layers/billing/billing the same way into a temporary directory put first on the children's PYTHONPATH
(site-packages already hold the .pyc pip wrote; app.py, shipped as source, is compiled on import as in Lambda).
"""
from __future__ import annotations

import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from billing.devstack.template import http_routes, load_template

from .measure import ROOT, Timed, child_env, clock, failure, figure, log, median, ms

TARGET_MS = 250
RUNS, SMOKE_RUNS = 15, 1
IMPORTTIME_RUNS = 3  # full runs only: a smoke run lists from its timed runs
TOP = 5

# What the Lambda runtime does with Handler: app.handler, without the runtime's own bootstrap.
IMPORT_FILE = ("import importlib.util,sys; s=importlib.util.spec_from_file_location('m', sys.argv[1]); "
               "m=importlib.util.module_from_spec(s); s.loader.exec_module(m)")
# The same, stamped before and after the import (same clock as measure.clock), so one run splits into startup
# (fork to first line), import, and exit (interpreter teardown, which a Lambda cold start never pays); the last
# stamp is the CPU time the process has used by the end of the import, which other work on the machine does not
# inflate the way it inflates wall time.
STAMPED = ("import time; a=time.clock_gettime(time.CLOCK_MONOTONIC); {code}; "
           "print(a, time.clock_gettime(time.CLOCK_MONOTONIC), time.process_time())")
BASELINE = ["-c", STAMPED.format(code="pass")]
# The layer's bytecode as its build compiles it (layers/billing/Makefile).
COMPILE = ["-m", "compileall", "-q", "-f", "--invalidation-mode", "unchecked-hash"]
LAYER_PACKAGE = ROOT / "layers" / "billing" / "billing"
PDF_RENDERER = ["-c", STAMPED.format(code="import weasyprint")]
IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)$")


def api_functions() -> list[dict[str, Any]]:
    """One entry per function module behind at least one HttpApi route, by function directory name."""
    found: dict[Path, dict[str, Any]] = {}
    for route in http_routes(load_template(ROOT / "template.yaml"), ROOT):
        fn = found.setdefault(route.function.module_file, {
            "function": route.function.code_dir.name, "module_file": route.function.module_file, "routes": []})
        fn["routes"].append(route.route_key)
    return sorted(found.values(), key=lambda f: f["function"])


def parse_importtime(stderr: str) -> list[dict[str, Any]]:
    """The -X importtime tree: each import with its self/cumulative µs and the import that pulled it in."""
    nodes: list[dict[str, Any]] = []
    pending: dict[int, list[dict[str, Any]]] = {}  # a child is printed before its parent, one level deeper
    for line in stderr.splitlines():
        match = IMPORTTIME_LINE.match(line)
        if not match:
            continue
        self_us, cumulative_us, indent, module = match.groups()
        depth = (len(indent) - 1) // 2  # one space after "|", then two per level
        node = {"module": module, "self_us": int(self_us), "cumulative_us": int(cumulative_us), "parent": None}
        for child in pending.pop(depth + 1, []):
            child["parent"] = module
        pending.setdefault(depth, []).append(node)
        nodes.append(node)
    return nodes


def _root(module: str | None) -> str | None:
    return module.split(".")[0] if module else None


def heaviest_imports(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Packages the project's own code imports directly (where a lazy import could go), by cumulative time.

    One entry per package and importer: boto3 as pulled in by billing.ports.storage, not boto3.session etc.
    Cumulative time includes what the package imports in turn (boto3 includes botocore).
    """
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for node in nodes:
        root, parent_root = _root(node["module"]), _root(node["parent"])
        if root == "billing" or parent_root not in (None, "billing"):
            continue
        key = (root, node["parent"] or "app.py")
        entry = entries.setdefault(key, {"package": root, "imported_by": key[1], "cumulative_us": 0})
        entry["cumulative_us"] += node["cumulative_us"]
    return list(entries.values())


def self_by_package(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Self time summed per top-level package (billing per subpackage): additive, nothing counted twice."""
    totals: dict[str, int] = {}
    for node in nodes:
        parts = node["module"].split(".")
        name = ".".join(parts[:3]) if parts[0] == "billing" else parts[0]
        totals[name] = totals.get(name, 0) + node["self_us"]
    return [{"package": name, "self_us": us} for name, us in totals.items()]


def _median_listing(listings: list[list[dict[str, Any]]], key: tuple[str, ...], value: str, top: int) -> list[dict]:
    """Each entry's median over several -X importtime runs (in ms), heaviest first."""
    samples: dict[tuple[str, ...], list[int]] = {}
    for listing in listings:
        for entry in listing:
            samples.setdefault(tuple(entry[k] for k in key), []).append(entry[value])
    field = value.replace("_us", "_ms")
    rows = [{**dict(zip(key, k)), field: ms(statistics.median(v) / 1e6)} for k, v in samples.items()]
    return sorted(rows, key=lambda r: -r[field])[:top]


def bootstrap_modules(layer: Path) -> set[str]:
    """What the interpreter and the stamped one-liner load before the module: left out of the listings."""
    proc = run_child(["-X", "importtime", "-c", "import time,importlib.util,sys"], layer).proc
    return {n["module"] for n in parse_importtime(proc.stderr.decode(errors="replace"))}


def listing(stderrs: list[str], bootstrap: set[str]) -> dict[str, Any]:
    """Where one function's import time goes, as medians over several -X importtime runs."""
    heaviest, by_package, totals = [], [], []
    for stderr in stderrs:
        nodes = [n for n in parse_importtime(stderr) if n["module"] not in bootstrap]
        heaviest.append(heaviest_imports(nodes))
        by_package.append(self_by_package(nodes))
        totals.append(sum(n["self_us"] for n in nodes))
    if not totals:
        return {"importtime_runs": 0}
    return {
        "importtime_runs": len(totals),
        "importtime_total_ms": ms(statistics.median(totals) / 1e6),
        "top_imports": _median_listing(heaviest, ("package", "imported_by"), "cumulative_us", TOP),
        "self_by_package": _median_listing(by_package, ("package",), "self_us", TOP + 3),
    }


@contextmanager
def compiled_layer() -> Iterator[Path]:
    """A copy of the layer's package with its bytecode compiled as the layer's build does; yields its parent."""
    with tempfile.TemporaryDirectory(prefix="cold_import_layer_") as tmp:
        target = Path(tmp) / LAYER_PACKAGE.name
        shutil.copytree(LAYER_PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([sys.executable, *COMPILE, str(target)], check=True, env=child_env())
        yield Path(tmp)


def run_child(args: list[str], layer: Path) -> Timed:
    """bench.measure.run_python, with the compiled layer first on the path."""
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(layer), env.get("PYTHONPATH", "")) if p)
    start = clock()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, check=False)
    return Timed(start, clock(), proc)


def _stamps(timed: Timed) -> tuple[float, float, float, float] | None:
    """(startup, import, exit, CPU time to the end of the import) of one stamped run; None without stamps."""
    try:
        began, imported, cpu = map(float, timed.proc.stdout.split()[-3:])
    except ValueError:
        return None
    return began - timed.start, imported - began, timed.end - imported, cpu


def _phases(samples: list[tuple[float, float, float, float]]) -> dict[str, float | None]:
    """Medians of each phase of the same runs; they need not add up to the median of the totals."""
    names = ("startup_ms", "import_ms", "exit_ms", "cpu_ms")
    if not samples:
        return dict.fromkeys(names)
    return {name: ms(median([s[i] for s in samples])) for i, name in enumerate(names)}


def _wall(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"median": None, "min": None, "max": None}
    return {"median": ms(median(samples)), "min": ms(min(samples)), "max": ms(max(samples))}


def run(smoke: bool) -> dict[str, Any]:
    runs = SMOKE_RUNS if smoke else RUNS
    functions = api_functions()
    if not functions:
        return {"name": "cold_import", "error": "no HttpApi route in template.yaml", "median": None,
                "target_met": False}
    with compiled_layer() as layer:
        return _measure(functions, runs, smoke, layer)


def _measure(functions: list[dict[str, Any]], runs: int, smoke: bool, layer: Path) -> dict[str, Any]:
    # A smoke run only proves the benchmark works: it runs children two at a time, and its timed runs double
    # as the -X importtime listings. A full run times clean runs one by one, then takes the listings apart.
    workers, listed = (2, ["-X", "importtime"]) if smoke else (1, [])
    commands = {"baseline": [*listed, *BASELINE], "pdf_renderer": [*listed, *PDF_RENDERER]}
    commands.update({fn["function"]: [*listed, "-c", STAMPED.format(code=IMPORT_FILE), str(fn["module_file"])]
                     for fn in functions})
    cold: dict[str, list[float]] = {name: [] for name in commands}  # fork to end of import: the figure
    walls: dict[str, list[float]] = {name: [] for name in commands}  # fork to exit
    phases: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in commands}
    stderrs: dict[str, list[str]] = {name: [] for name in commands}
    errors: dict[str, str] = {}
    order, shuffle = list(commands), random.Random(0).shuffle

    def record(name: str, args: list[str], timed: Timed, *, sample: bool = True) -> None:
        stamps = _stamps(timed)
        if timed.proc.returncode != 0 or stamps is None:
            errors[name] = failure(timed.proc) or "the child printed no stamps"
            return
        if args[0] == "-X":
            stderrs[name].append(timed.proc.stderr.decode(errors="replace"))
        if sample:
            cold[name].append(stamps[0] + stamps[1])
            walls[name].append(timed.elapsed)
            phases[name].append(stamps)

    log(f"cold_import: {len(functions)} API functions, weasyprint and the baseline, {runs} rounds")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in range(runs):
            shuffle(order)  # interleaved rounds: drift and cache effects land on every figure alike
            for name, timed in zip(order, pool.map(lambda name: run_child(commands[name], layer), order)):
                record(name, commands[name], timed)
    if not smoke:
        log("cold_import: -X importtime listings")
        for fn in functions:
            args = ["-X", "importtime", *commands[fn["function"]]]
            for _ in range(IMPORTTIME_RUNS):
                record(fn["function"], args, run_child(args, layer), sample=False)

    bootstrap = bootstrap_modules(layer)
    baseline_what = "python -c pass, fork to its statement having run"

    def measured(name: str) -> dict[str, Any]:
        return {"wall_ms": _wall(walls[name]), "phases": _phases(phases[name]),
                **({"error": errors[name]} if name in errors else {})}

    per_function = [
        figure(f"cold_import.{fn['function']}", "ms", cold[fn["function"]], baseline_what, cold["baseline"],
               TARGET_MS, function=fn["function"], module_file=str(fn["module_file"].relative_to(ROOT)),
               routes=fn["routes"], **measured(fn["function"]), **listing(stderrs[fn["function"]], bootstrap))
        for fn in functions
    ]
    slowest = max((fn["function"] for fn in functions), key=lambda n: median(cold[n]) if cold[n] else 0.0)
    result = figure("cold_import", "ms", cold[slowest], baseline_what, cold["baseline"], TARGET_MS,
                    **measured(slowest))
    result["baseline"].update(wall_ms=_wall(walls["baseline"]), phases=_phases(phases["baseline"]))
    result.update({
        "what": "fresh interpreter importing an HttpApi function's app.py, from fork to the end of the import "
                "(what a Lambda cold start pays: the sandbox is frozen, never torn down; wall_ms adds the "
                "teardown); the layer's bytecode compiled as its build ships it; median is the slowest "
                "function's, target_met only if every function's median is within target",
        "slowest_function": slowest,
        "target_met": bool(per_function) and all(f["target_met"] is True for f in per_function),
        "functions": per_function,
        "pdf_renderer": figure(
            "cold_import.pdf_renderer", "ms", cold["pdf_renderer"], baseline_what, cold["baseline"], None,
            what="python -c 'import weasyprint', fork to end of import: paid by the first render in a process, "
                 "not by API cold starts (billing.ports.pdf imports it on first use)",
            **measured("pdf_renderer")),
    })
    failed = [name for name in commands if name in errors and name != "pdf_renderer"]
    if failed:  # a function that cannot be imported has no cold start to report: the whole figure is in error
        result["error"] = "; ".join(f"{name}: {errors[name][-300:]}" for name in failed)
    return result
