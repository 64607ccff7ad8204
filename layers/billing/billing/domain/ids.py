"""Identifier checks at the edge: what is not a UUID never reaches SQL or an S3 key."""
from __future__ import annotations

import uuid

from .errors import BillingError


def parse_uuid(value: object, error: type[BillingError]) -> str:
    """The canonical lowercase form of a UUID, or `error` raised."""
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise error(f"{str(value)[:64]!r} is not a valid UUID") from None


def is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False
