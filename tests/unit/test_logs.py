"""Personal data never reaches the logs as it is: the masking formatter."""
from __future__ import annotations

import io
import json
import logging

from billing.logs import MASK, mask, service_logger


def test_masks_emails_ibans_cards_and_tokens_in_free_text():
    text = ("mail compta@acme.example iban FR76 3000 6000 0112 3456 7890 189 card 4111 1111 1111 1111 "
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig auth Bearer abc.def")
    masked = mask(text)
    for secret in ("compta@acme.example", "FR76 3000", "4111 1111", "eyJhbGci", "abc.def"):
        assert secret not in masked
    assert masked.count(MASK) == 5


def test_keeps_uuids_invoice_numbers_and_non_card_digits():
    text = "user 5b0f6a3e-1c1a-4d7e-9a51-000000000001 invoice INV-2026-000001 epoch 1793498400000 1234567890123"
    assert mask(text) == text


def test_masks_personal_fields_by_name_at_any_depth():
    record = {"message": "customer saved", "customer": {"name": "Jean Dupont", "address_line1": "1 rue X",
              "phone": "+33 1 23 45 67 89", "plan": "BASIC"}, "buyer": {"city": "Lyon"}}
    assert mask(record) == {"message": "customer saved", "customer": {"name": MASK, "address_line1": MASK,
                            "phone": MASK, "plan": "BASIC"}, "buyer": MASK}


def test_the_service_logger_writes_masked_json(monkeypatch):
    # Earlier tests (the integration session sets POWERTOOLS_LOG_LEVEL=WARNING) leave the shared logger quieter.
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    logger = service_logger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    previous = logger.log_level
    logger.setLevel(logging.INFO)
    try:
        logger.info("sent to jean@dupont.example", extra={"email": "jean@dupont.example", "invoice": "INV-2026-000001"})
    finally:
        logger.setLevel(previous)
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert "dupont" not in stream.getvalue()
    assert (line["email"], line["invoice"]) == (MASK, "INV-2026-000001")
