"""Gapless document numbers: the sequence row stays locked until the issuing transaction ends."""
from __future__ import annotations

from . import Tx


def next_value(tx: Tx, kind: str, year: int) -> int:
    return int(
        tx.value(
            "INSERT INTO invoice_number_sequences (kind, year, last_value) VALUES (:k, :y, 1) "
            "ON CONFLICT (kind, year) DO UPDATE SET last_value = invoice_number_sequences.last_value + 1 "
            "RETURNING last_value",
            k=kind, y=year,
        )
    )
