"""Cold start of every HttpApi function: a fresh interpreter importing functions/<name>/app.py, and weasyprint."""
from __future__ import annotations

import random
import re
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from billing.devstack.template import http_routes, load_template

from .measure import ROOT, Timed, failure, figure, log, median, ms, run_python

TARGET_MS = 250
RUNS, SMOKE_RUNS = 15, 3
IMPORTTIME_RUNS = 3  # full runs only: a smoke run lists from its timed runs
TOP = 5

# What the Lambda runtime does with Handler: app.handler, without the runtime's own bootstrap.
IMPORT_FILE = ("import importlib.util,sys; s=importlib.util.spec_from_file_location('m', sys.argv[1]); "
               "m=importlib.util.module_from_spec(s); s.loader.exec_module(m)")
# The same, stamped before and after the import (same clock as measure.clock), so one run also splits into
# startup (fork to first line), import, and exit (interpreter teardown, which a Lambda cold start never pays).
STAMPED = ("import time; a=time.clock_gettime(time.CLOCK_MONOTONIC); {code}; "
           "print(a, time.clock_gettime(time.CLOCK_MONOTONIC))")
BASELINE = ["-c", "pass"]
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


def bootstrap_modules() -> set[str]:
    """What the interpreter and the stamped one-liner load before the module: left out of the listings."""
    proc = run_python(["-X", "importtime", "-c", "import time,importlib.util,sys"]).proc
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


def _stamps(timed: Timed) -> list[tuple[float, float, float]]:
    """(startup, import, exit) of one stamped run; none if the module printed over the stamps."""
    try:
        began, imported = map(float, timed.proc.stdout.split()[-2:])
    except ValueError:
        return []
    return [(began - timed.start, imported - began, timed.end - imported)]


def _phases(samples: list[tuple[float, float, float]]) -> dict[str, float | None]:
    """Medians of each phase of the same runs; they need not add up to the median of the totals."""
    names = ("startup_ms", "import_ms", "exit_ms")
    if not samples:
        return dict.fromkeys(names)
    return {name: ms(median([s[i] for s in samples])) for i, name in enumerate(names)}


def run(smoke: bool) -> dict[str, Any]:
    runs = SMOKE_RUNS if smoke else RUNS
    functions = api_functions()
    if not functions:
        return {"name": "cold_import", "error": "no HttpApi route in template.yaml", "median": None,
                "target_met": False}
    # A smoke run only proves the benchmark works: it runs children two at a time, and its timed runs double
    # as the -X importtime listings. A full run times clean runs one by one, then takes the listings apart.
    workers, listed = (2, ["-X", "importtime"]) if smoke else (1, [])
    commands = {"baseline": BASELINE, "pdf_renderer": PDF_RENDERER}
    commands.update({fn["function"]: [*listed, "-c", STAMPED.format(code=IMPORT_FILE), str(fn["module_file"])]
                     for fn in functions})
    samples: dict[str, list[float]] = {name: [] for name in commands}
    phases: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    stderrs: dict[str, list[str]] = {name: [] for name in commands}
    errors: dict[str, str] = {}
    order, shuffle = list(commands), random.Random(0).shuffle

    def record(name: str, args: list[str], timed: Timed, *, sample: bool = True) -> None:
        if timed.proc.returncode != 0:
            errors[name] = failure(timed.proc) or ""
            return
        if args[0] == "-X":
            stderrs[name].append(timed.proc.stderr.decode(errors="replace"))
        if sample:
            samples[name].append(timed.elapsed)
            if name != "baseline":
                phases[name] += _stamps(timed)

    log(f"cold_import: {len(functions)} API functions, weasyprint and the baseline, {runs} rounds")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in range(runs):
            shuffle(order)  # interleaved rounds: drift and cache effects land on every figure alike
            for name, timed in zip(order, pool.map(lambda name: run_python(commands[name]), order)):
                record(name, commands[name], timed)
    if not smoke:
        log("cold_import: -X importtime listings")
        for fn in functions:
            args = ["-X", "importtime", *commands[fn["function"]]]
            for _ in range(IMPORTTIME_RUNS):
                record(fn["function"], args, run_python(args), sample=False)

    bootstrap = bootstrap_modules()
    per_function = [
        figure(f"cold_import.{fn['function']}", "ms", samples[fn["function"]], "python -c pass", samples["baseline"],
               TARGET_MS, function=fn["function"], module_file=str(fn["module_file"].relative_to(ROOT)),
               routes=fn["routes"], phases=_phases(phases[fn["function"]]),
               **({"error": errors[fn["function"]]} if fn["function"] in errors else {}),
               **listing(stderrs[fn["function"]], bootstrap))
        for fn in functions
    ]
    slowest = max((fn["function"] for fn in functions), key=lambda n: median(samples[n]) if samples[n] else 0.0)
    result = figure("cold_import", "ms", samples[slowest], "python -c pass", samples["baseline"], TARGET_MS,
                    phases=_phases(phases[slowest]))
    result.update({
        "what": "fresh interpreter importing an HttpApi function's app.py; median is the slowest function's "
                "median, target_met only if every function's median is within target",
        "slowest_function": slowest,
        "target_met": bool(per_function) and all(f["target_met"] is True for f in per_function),
        "functions": per_function,
        "pdf_renderer": figure(
            "cold_import.pdf_renderer", "ms", samples["pdf_renderer"], "python -c pass", samples["baseline"], None,
            what="python -c 'import weasyprint': paid by the first render in a process, not by API cold starts "
                 "(billing.ports.pdf imports it on first use)",
            phases=_phases(phases["pdf_renderer"]),
            **({"error": errors["pdf_renderer"]} if "pdf_renderer" in errors else {})),
    })
    if "baseline" in errors:
        result["error"] = errors["baseline"]
    return result
