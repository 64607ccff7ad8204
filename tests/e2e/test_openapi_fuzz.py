"""schemathesis against the local stack, from the served OpenAPI document: no 5xx, every answer as documented.

Driven through schemathesis' Python API with Hypothesis (its pytest plugin does not run under pytest 9).
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.e2e.conftest import local_stack

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 12  # per operation: bounded, so the suite stays well under its time budget


@pytest.fixture(scope="module")
def fuzz_stack(infra, tmp_path_factory):
    # A high rate limit: the fuzzer is one caller sending many requests.
    with local_stack(infra, tmp_path_factory.mktemp("fuzz-stack"), "billing_e2e_fuzz",
                     RATE_LIMIT_PER_MINUTE="100000", POWERTOOLS_LOG_LEVEL="WARNING") as stack:
        yield stack




def test_every_operation_answers_as_documented(fuzz_stack):
    schema = schemathesis.openapi.from_url(f"{fuzz_stack['baseUrl']}/billing/openapi.json")
    headers = {"Authorization": f"Bearer {fuzz_stack['adminToken']}"}
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def run(case):
            case.call_and_validate(base_url=fuzz_stack["baseUrl"], headers=headers, checks=CHECKS)

        run()
        checked.append(operation.label)
    from billing.api.openapi import OPERATIONS

    documented = {f"{op.method} {op.path}" for op in OPERATIONS}
    # schemathesis leaves out the document's own route; everything else was exercised.
    assert set(checked) == documented - {"GET /billing/openapi.json"}, sorted(documented - set(checked))
