"""Reads template.yaml as the local stack needs it: HttpApi routes and event sources, per function."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that keeps CloudFormation short tags (!Ref, !Sub, !GetAtt ...) as their long form."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_dir: Path
    module_file: Path
    handler_name: str
    timeout: int
    memory: int


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as in the template: /billing/invoices/{id}
    pattern: re.Pattern[str]
    function: Function
    authorized: bool

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


def _functions(template: dict[str, Any], root: Path) -> dict[str, tuple[Function, dict[str, Any]]]:
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    found = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties") or {}
        if props.get("PackageType") == "Image":  # functions/pdf_image/Dockerfile in AWS; run from source here
            handler, code_uri = props["ImageConfig"]["Command"][0], resource["Metadata"]["LocalCodeUri"]
        else:
            handler, code_uri = props["Handler"], props["CodeUri"]
        module, _, attr = handler.rpartition(".")
        code_dir = root / code_uri
        found[logical_id] = (
            Function(
                logical_id=logical_id,
                code_dir=code_dir,
                module_file=code_dir / (module.replace(".", "/") + ".py"),
                handler_name=attr,
                timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                memory=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
            ),
            props.get("Events") or {},
        )
    return found


def http_routes(template: dict[str, Any], root: Path) -> list[Route]:
    routes = []
    for function, events in _functions(template, root).values():
        for event in events.values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            path, method = props["Path"], props.get("Method", "ANY").upper()
            authorizer = ((props.get("Auth") or {}).get("Authorizer"))
            regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
            routes.append(Route(method, path, re.compile(f"^{regex}$"), function, authorizer != "NONE"))
    # Literal segments win over parameters, as in API Gateway: fewer parameters first.
    return sorted(routes, key=lambda r: (r.path.count("{"), -len(r.path)))


def event_functions(template: dict[str, Any], root: Path, event_type: str) -> list[Function]:
    return [fn for fn, events in _functions(template, root).values()
            if any(e.get("Type") == event_type for e in events.values())]


def sqs_sources(template: dict[str, Any], root: Path) -> list[tuple[Function, str, int]]:
    """(function, queue logical id, batch size) for every SQS event of the template."""
    found = []
    for function, events in _functions(template, root).values():
        for event in events.values():
            if event.get("Type") == "SQS":
                props = event.get("Properties") or {}
                found.append((function, props["Queue"]["Fn::GetAtt"][0], int(props.get("BatchSize", 10))))
    return found
