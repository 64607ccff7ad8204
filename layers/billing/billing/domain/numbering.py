"""Document numbers: INV-{year}-{000001} for invoices, AVO-{year}-{000001} for credit notes."""
from __future__ import annotations

import re

KINDS = ("INV", "AVO")
NUMBER_RE = re.compile(r"(INV|AVO)-(\d{4})-(\d{6,})")


def format_number(kind: str, year: int, value: int) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    return f"{kind}-{year:04d}-{value:06d}"


def is_number(text: str) -> bool:
    return bool(NUMBER_RE.fullmatch(text))
