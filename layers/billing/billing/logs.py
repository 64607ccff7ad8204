"""Structured JSON logs (Powertools) with personal data masked: e-mails, IBANs, card numbers, tokens, and the
values of fields that hold names, addresses or phone numbers, wherever they appear in a record."""
from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

MASK = "***"
PERSONAL_FIELDS = frozenset({
    "name", "email", "address", "address_line1", "address_line2", "postal_code", "city", "phone", "iban",
    "vat_number", "siren", "authorization", "token", "password", "cookie", "buyer",
})
PATTERNS = [
    re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),              # e-mail addresses
    re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"),  # IBANs
    re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),         # JWTs
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),                          # bearer credentials
]


# 13 to 19 digits starting like a card network's (2-6), maybe grouped by spaces or dashes, passing Luhn, and
# not part of a longer token (a UUID's last group is not; epoch milliseconds start with 1).
CARD = re.compile(r"(?<![\w-])[2-6](?:[ -]?\d){12,18}(?![\w-])")


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group())
    return MASK if _luhn(digits) else match.group()


def mask(value: Any, key: str | None = None) -> Any:
    if key and key.lower() in PERSONAL_FIELDS and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        for pattern in PATTERNS:
            value = pattern.sub(MASK, value)
        return CARD.sub(_card, value)
    if isinstance(value, dict):
        return {k: mask(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    return value


class MaskingFormatter(LambdaPowertoolsFormatter):
    def serialize(self, log: dict[str, Any]) -> str:
        return super().serialize(mask(log))


def service_logger() -> Logger:
    """The logger of a function's entry point; modules below log through Logger(child=True)."""
    return Logger(logger_formatter=MaskingFormatter())
