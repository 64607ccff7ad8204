"""Customers: users, their billing profile and their subscriptions."""
from __future__ import annotations

from datetime import date
from typing import Any

from . import Tx
from .. import crypto

PROFILE_COLUMNS = (
    "name", "email", "address_line1", "address_line2", "postal_code", "city", "country",
    "phone", "vat_number", "siren", "locale", "currency",
)


def ensure_user(tx: Tx, user_id: str) -> None:
    tx.execute("INSERT INTO users (id) VALUES (CAST(:id AS uuid)) ON CONFLICT (id) DO NOTHING", id=user_id)


# Personal columns are stored encrypted (billing.ports.crypto), bound to user_profiles, the column and the user.
ENCRYPTED = ("name", "email", "address_line1", "address_line2", "postal_code", "city", "phone", "vat_number", "siren")


def upsert_profile(tx: Tx, user_id: str, profile: dict[str, Any]) -> None:
    columns = ", ".join(PROFILE_COLUMNS)
    values = ", ".join(f":{c}" for c in PROFILE_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in PROFILE_COLUMNS)
    version = crypto.current_version(tx)
    stored = {c: crypto.encrypt(tx, profile.get(c), "user_profiles", c, user_id, version) if c in ENCRYPTED
              else profile.get(c) for c in PROFILE_COLUMNS}
    tx.execute(
        f"INSERT INTO user_profiles (user_id, {columns}, search_tokens) VALUES (CAST(:user_id AS uuid), {values},"
        f" CAST(:tokens AS text[])) ON CONFLICT (user_id) DO UPDATE SET {updates},"
        " search_tokens = EXCLUDED.search_tokens, updated_at = now()",
        user_id=user_id, tokens=crypto.search_tokens(tx, profile.get("name"), profile.get("email")), **stored,
    )


def get_profile(tx: Tx, user_id: str) -> dict[str, Any] | None:
    row = tx.one(
        f"SELECT user_id::text AS user_id, {', '.join(PROFILE_COLUMNS)} FROM user_profiles "
        "WHERE user_id = CAST(:id AS uuid)",
        id=user_id,
    )
    return row and {k: crypto.decrypt(tx, v, "user_profiles", k, user_id) if k in ENCRYPTED else v
                    for k, v in row.items()}


SEGMENT_COLUMNS = ("id::text AS id, plan_code, interval::text AS interval, status::text AS status, started_on,"
                   " ended_on, auto_renew")


def open_subscription(tx: Tx, user_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    """The segment with no end yet (at most one per customer)."""
    return tx.one(
        f"SELECT {SEGMENT_COLUMNS} FROM subscriptions WHERE user_id = CAST(:id AS uuid) AND ended_on IS NULL"
        + (" FOR UPDATE" if for_update else ""),
        id=user_id,
    )


def latest_subscription(tx: Tx, user_id: str) -> dict[str, Any] | None:
    return tx.one(
        f"SELECT {SEGMENT_COLUMNS} FROM subscriptions WHERE user_id = CAST(:id AS uuid)"
        " ORDER BY started_on DESC, created_at DESC LIMIT 1",
        id=user_id,
    )


def first_subscription(tx: Tx, user_id: str) -> dict[str, Any] | None:
    return tx.one(
        f"SELECT {SEGMENT_COLUMNS} FROM subscriptions WHERE user_id = CAST(:id AS uuid)"
        " ORDER BY started_on, created_at LIMIT 1",
        id=user_id,
    )


def segments_overlapping(tx: Tx, user_id: str, start: date, end: date) -> list[dict[str, Any]]:
    return tx.all(
        f"SELECT {SEGMENT_COLUMNS} FROM subscriptions WHERE user_id = CAST(:u AS uuid)"
        " AND started_on <= :e AND (ended_on IS NULL OR ended_on >= :s) ORDER BY started_on, created_at",
        u=user_id, s=start, e=end,
    )


def open_segment(tx: Tx, user_id: str, *, plan_code: str, interval: str, status: str, started_on: date,
                 auto_renew: bool, ended_on: date | None = None) -> None:
    tx.execute(
        "INSERT INTO subscriptions (user_id, plan_code, interval, status, started_on, ended_on, auto_renew) "
        "VALUES (CAST(:u AS uuid), :p, CAST(:i AS subscription_interval), CAST(:st AS subscription_status), :s, :e, :r)",
        u=user_id, p=plan_code, i=interval, st=status, s=started_on, e=ended_on, r=auto_renew,
    )


def update_segment(tx: Tx, segment_id: str, *, plan_code: str, interval: str, status: str, auto_renew: bool) -> None:
    tx.execute(
        "UPDATE subscriptions SET plan_code = :p, interval = CAST(:i AS subscription_interval),"
        " status = CAST(:st AS subscription_status), auto_renew = :r WHERE id = CAST(:id AS uuid)",
        id=segment_id, p=plan_code, i=interval, st=status, r=auto_renew,
    )


def close_segment(tx: Tx, segment_id: str, ended_on: date, status: str | None = None) -> None:
    tx.execute(
        "UPDATE subscriptions SET ended_on = GREATEST(started_on, CAST(:ended AS date)),"
        " status = COALESCE(CAST(:status AS subscription_status), status) WHERE id = CAST(:id AS uuid)",
        id=segment_id, ended=ended_on, status=status,
    )
