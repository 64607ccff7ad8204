"""atheris harness: every request parser turns any input into a model or a typed error with a stable code.

Run by tests/unit/test_fuzz.py with bounded runs; by hand: python tests/fuzz/fuzz_request_parsing.py -runs=200000
"""
from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["billing"], enable_loader_override=False):
    from pydantic import ValidationError

    from billing.api import models
    from billing.api.errors import FIELD_CODES, request_error
    from billing.domain.errors import BillingError, InvalidInvoiceId
    from billing.domain.ids import parse_uuid
    from billing.services.invoices.query import decode_cursor

BODIES = [models.CustomerIn, models.UsageIn, models.InvoiceCreateIn, models.InvoicePatchIn, models.PaymentIn,
          models.CreditIn, models.ConsentIn, models.InvoiceJobIn]
QUERIES = [models.InvoiceListQuery, models.AlertQuery, models.AuditQuery, models.StorageStatsQuery, models.PdfQuery]
CODES = set(FIELD_CODES.values()) | {"invalid_json", "invalid_request"}


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    choice = fdp.ConsumeIntInRange(0, 3)
    if choice == 0:
        model = BODIES[fdp.ConsumeIntInRange(0, len(BODIES) - 1)]
        try:
            model.model_validate_json(fdp.ConsumeBytes(fdp.remaining_bytes()))
        except ValidationError as exc:
            error = request_error(exc)
            assert isinstance(error, BillingError) and error.code in CODES and error.status == 400, error.code
    elif choice == 1:
        model = QUERIES[fdp.ConsumeIntInRange(0, len(QUERIES) - 1)]
        query = {fdp.ConsumeUnicodeNoSurrogates(12): fdp.ConsumeUnicodeNoSurrogates(40) for _ in range(3)}
        try:
            model.model_validate(query)
        except ValidationError as exc:
            assert request_error(exc).status == 400
    elif choice == 2:
        try:
            decode_cursor(fdp.ConsumeUnicodeNoSurrogates(200))
        except BillingError as exc:
            assert exc.code == "invalid_cursor"
    else:
        try:
            parse_uuid(fdp.ConsumeUnicodeNoSurrogates(60), InvalidInvoiceId)
        except InvalidInvoiceId:
            pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
