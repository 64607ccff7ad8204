"""The summary tables of bench/README.md from a run's JSON: `python -m bench.report [bench/results/latest.json]`.

Prints Markdown: one row per figure of issue 8 (median, the baseline measured in the same run, the ratio, the
target and whether it is met), then the cold start of every API function. Nothing is computed here that the
run did not report; the tables only lay it out.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .__main__ import RESULTS


def _num(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    text = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
    return f"{text} {unit}".strip()


def _ratio(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}"


def _target(result: dict[str, Any]) -> str:
    if result.get("target_what"):
        return result["target_what"]
    target, kind, unit = result.get("target"), result.get("target_kind"), result.get("unit", "")
    if target is None:
        return "–"
    if kind == "floor":
        return f"≥ {_num(target, unit)}"
    if kind == "ratio_ceiling":
        return f"ratio ≤ {target}"
    return f"≤ {_num(target, unit)}"


def _met(result: dict[str, Any]) -> str:
    if result.get("error"):
        return f"error: {result['error'][:80]}"
    return {True: "yes", False: "**no**", None: "–"}[result.get("target_met")]


def figures(document: dict[str, Any]) -> str:
    rows = ["| figure | median | baseline (same run) | ratio | runs | target | met |", "|---|---:|---|---:|---:|---|:-:|"]
    for result in document["results"]:
        parts = [result, *([result["http"]] if isinstance(result.get("http"), dict) else [])]
        for part in parts:
            base = part.get("baseline") or {}
            rows.append(f"| {part['name']} | {_num(part.get('median'), part.get('unit', ''))} | "
                        f"{base.get('what', '–')}: {_num(base.get('median'), part.get('unit', ''))} | "
                        f"{_ratio(part.get('ratio'))} | {part.get('runs', '–')} | {_target(part)} | {_met(part)} |")
    return "\n".join(rows)


def cold_starts(document: dict[str, Any]) -> str:
    result = next((r for r in document["results"] if r["name"] == "cold_import"), None)
    if not result or not result.get("functions"):
        return ""
    rows = ["| function | fork → end of import | CPU | wall, teardown included | met |", "|---|---:|---:|---:|:-:|"]
    def row(label: str, fn: dict[str, Any], met: str) -> str:
        return (f"| {label} | {_num(fn.get('median'), 'ms')} | {_num((fn.get('phases') or {}).get('cpu_ms'), 'ms')} | "
                f"{_num((fn.get('wall_ms') or {}).get('median'), 'ms')} | {met} |")

    for fn in sorted(result["functions"], key=lambda f: -(f.get("median") or 0)):
        rows.append(row(fn.get("function", fn["name"]), fn, _met(fn)))
    if result.get("pdf_renderer"):
        rows.append(row("(import weasyprint, no target)", result["pdf_renderer"], "–"))
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    document = json.loads(Path(argv[0] if argv else RESULTS).read_text(encoding="utf-8"))
    machine, revision = document["machine"], document.get("revision") or {}
    print(f"{document['date']}, `{document['command']}`, revision {revision.get('commit')}"
          f"{' (dirty)' if revision.get('dirty') else ''}; {machine['cpu_count']} × {machine['cpu']}, "
          f"{machine['implementation']} {machine['python']}; load average {machine.get('load_average_at_start')}"
          f" at start, {machine.get('load_average_at_end')} at the end.\n")
    print(figures(document))
    table = cold_starts(document)
    if table:
        print("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
