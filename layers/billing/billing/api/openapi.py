"""The OpenAPI 3.1 document, generated from the same pydantic models the routes validate with.

The route table below is checked against template.yaml by tests/unit/test_openapi.py, so the two cannot drift.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import models as m


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    responses: dict[int, type[BaseModel] | None]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    public: bool = False
    errors: tuple[int, ...] = field(default=(400, 401, 403, 404))


OPERATIONS = [
    Operation("GET", "/billing/health", "Each dependency's state", {200: None, 503: None}, public=True, errors=()),
    Operation("GET", "/billing/openapi.json", "This document", {200: None}, public=True, errors=()),
    Operation("PUT", "/billing/customers/{userId}", "Create or update a customer and their subscription",
              {200: m.CustomerOut}, body=m.CustomerIn),
    Operation("POST", "/billing/customers/{userId}/credits", "Grant a credit", {201: m.CreditOut}, body=m.CreditIn),
    Operation("POST", "/billing/usage", "Record usage events", {202: m.UsageOut}, body=m.UsageIn),
    Operation("GET", "/billing/invoices", "A page of invoices, newest first", {200: m.InvoicePage},
              query=m.InvoiceListQuery),
    Operation("POST", "/billing/invoices", "Generate (and issue) an invoice", {201: m.InvoiceOut},
              body=m.InvoiceCreateIn, errors=(400, 401, 403, 404, 409, 503)),
    Operation("GET", "/billing/invoices/{id}", "One invoice", {200: m.InvoiceOut}),
    Operation("PATCH", "/billing/invoices/{id}", "Move the status, edit a draft", {200: m.InvoiceOut},
              body=m.InvoicePatchIn, errors=(400, 401, 403, 404, 409)),
    Operation("GET", "/billing/invoices/{id}/pdf", "Download link (302), or the PDF itself", {302: None, 200: None},
              query=m.PdfQuery),
    Operation("POST", "/billing/invoices/{id}/send", "E-mail the invoice", {202: m.InvoiceOut},
              errors=(400, 401, 403, 404, 409, 502)),
    Operation("POST", "/billing/invoices/{id}/payments", "Record a payment", {201: m.PaymentOut, 200: m.PaymentOut},
              body=m.PaymentIn, errors=(400, 401, 403, 404, 409)),
    Operation("GET", "/billing/alerts", "Billing alerts", {200: m.AlertList}, query=m.AlertQuery),
    Operation("GET", "/billing/audit", "The audit trail of one record", {200: m.AuditList}, query=m.AuditQuery),
    Operation("GET", "/billing/storage/stats", "Stored documents: files, bytes, average", {200: m.StorageStatsOut},
              query=m.StorageStatsQuery),
    Operation("GET", "/billing/users/{id}/export", "Everything held about a person", {200: None}),
    Operation("DELETE", "/billing/users/{id}", "Erase a person (issued invoices are kept)", {200: None}),
    Operation("POST", "/billing/users/{id}/consents", "Record a consent", {201: m.ConsentOut}, body=m.ConsentIn),
]

PROBLEM = {"type": "object", "required": ["type", "title", "status", "code", "detail"], "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "code": {"type": "string"}, "detail": {"type": "string"}}}
PATH_FORMATS = {"userId": "uuid", "id": "uuid"}


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    models = {op.body for op in OPERATIONS if op.body} | {r for op in OPERATIONS for r in op.responses.values() if r}
    keyed = [(model, "validation" if any(op.body is model for op in OPERATIONS) else "serialization")
             for model in sorted(models, key=lambda c: c.__name__)]
    refs, defs = models_json_schema(keyed, by_alias=True, ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        operation: dict[str, Any] = {"summary": op.summary, "operationId": f"{op.method.lower()}{_name(op.path)}",
                                     "responses": {}}
        if not op.public:
            operation["security"] = [{"bearer": []}]
        parameters = [{"name": p, "in": "path", "required": True, "schema": {"type": "string", "format": PATH_FORMATS[p]}}
                      for p in _path_params(op.path)]
        if op.query:
            schema = op.query.model_json_schema(by_alias=True)
            for name, prop in schema.get("properties", {}).items():
                parameters.append({"name": name, "in": "query", "required": name in schema.get("required", []),
                                   "schema": _inline(prop)})
        if parameters:
            operation["parameters"] = parameters
        if op.body:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": refs[(op.body, "validation")]}}}
        for status, model in op.responses.items():
            content = {"application/json": {"schema": refs[(model, "serialization")]}} if model else None
            operation["responses"][str(status)] = {"description": _describe(status), **({"content": content} if content else {})}
        for status in op.errors:
            operation["responses"][str(status)] = {"description": _describe(status), "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        paths.setdefault(op.path, {})[op.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "TwinMCP Billing", "version": "1", "description": "Invoices, payments and credits of TwinMCP."},
        "paths": paths,
        "components": {"schemas": {**defs.get("$defs", {}), "Problem": PROBLEM},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _name(path: str) -> str:
    return "".join(part.strip("{}").replace(".", "_").title().replace("_", "") for part in path.split("/")[2:])


def _inline(prop: dict[str, Any]) -> dict[str, Any]:
    """Query parameters are plain schemas: nullable unions become the non-null type."""
    if "anyOf" in prop:
        options = [o for o in prop["anyOf"] if o.get("type") != "null"]
        if len(options) == 1:
            return {**options[0], **{k: v for k, v in prop.items() if k == "title" or (k == "default" and v is not None)}}
    return prop


def _describe(status: int) -> str:
    return {200: "OK", 201: "Created", 202: "Accepted", 302: "Found", 400: "Bad request", 401: "No valid token",
            403: "Not allowed", 404: "Not found", 409: "Conflict", 429: "Too many requests", 502: "Bad gateway",
            503: "Unavailable"}[status]
