"""The OpenAPI document: valid, and describing exactly the HTTP API routes of template.yaml."""
from __future__ import annotations

from openapi_spec_validator import validate

from billing.api.openapi import document
from billing.devstack.template import http_routes, load_template
from tests.support import ROOT


def test_the_document_is_valid_openapi_3_1():
    validate(document())


def test_the_document_describes_exactly_the_api_routes_of_the_template():
    routes = {(r.method, r.path) for r in http_routes(load_template(ROOT / "template.yaml"), ROOT)
              if r.path.startswith("/billing/")}
    described = {(method.upper(), path) for path, ops in document()["paths"].items() for method in ops}
    assert described == routes


def test_public_routes_are_the_ones_without_a_token_in_the_template():
    public = {(r.method, r.path) for r in http_routes(load_template(ROOT / "template.yaml"), ROOT)
              if r.path.startswith("/billing/") and not r.authorized}
    open_ops = {(method.upper(), path) for path, ops in document()["paths"].items() for method, op in ops.items()
                if "security" not in op}
    assert open_ops == public
