"""Customers: users, their billing profile and their subscriptions."""
from __future__ import annotations

from datetime import date
from typing import Any

from . import Tx

PROFILE_COLUMNS = (
    "name", "email", "address_line1", "address_line2", "postal_code", "city", "country",
    "phone", "vat_number", "siren", "locale", "currency",
)


def ensure_user(tx: Tx, user_id: str) -> None:
    tx.execute("INSERT INTO users (id) VALUES (CAST(:id AS uuid)) ON CONFLICT (id) DO NOTHING", id=user_id)


def upsert_profile(tx: Tx, user_id: str, profile: dict[str, Any]) -> None:
    columns = ", ".join(PROFILE_COLUMNS)
    values = ", ".join(f":{c}" for c in PROFILE_COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in PROFILE_COLUMNS)
    tx.execute(
        f"INSERT INTO user_profiles (user_id, {columns}) VALUES (CAST(:user_id AS uuid), {values}) "
        f"ON CONFLICT (user_id) DO UPDATE SET {updates}, updated_at = now()",
        user_id=user_id,
        **{c: profile.get(c) for c in PROFILE_COLUMNS},
    )


def get_profile(tx: Tx, user_id: str) -> dict[str, Any] | None:
    return tx.one(
        f"SELECT user_id::text AS user_id, {', '.join(PROFILE_COLUMNS)} FROM user_profiles "
        "WHERE user_id = CAST(:id AS uuid)",
        id=user_id,
    )


def existing_user_ids(tx: Tx, user_ids: list[str]) -> set[str]:
    rows = tx.con.run("SELECT id::text FROM users WHERE id = ANY(CAST(:ids AS uuid[]))", ids=user_ids)
    return {row[0] for row in rows}


def live_subscription(tx: Tx, user_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    lock = " FOR UPDATE" if for_update else ""
    return tx.one(
        "SELECT id::text AS id, plan_code, interval::text AS interval, status::text AS status, started_on "
        "FROM subscriptions WHERE user_id = CAST(:id AS uuid) AND status IN ('ACTIVE', 'PAUSED')" + lock,
        id=user_id,
    )


def end_subscription(tx: Tx, subscription_id: str, ended_on: date) -> None:
    tx.execute(
        "UPDATE subscriptions SET status = 'CANCELLED', ended_on = GREATEST(started_on, CAST(:ended AS date)) "
        "WHERE id = CAST(:id AS uuid)",
        id=subscription_id,
        ended=ended_on,
    )


def start_subscription(tx: Tx, user_id: str, plan_code: str, interval: str, started_on: date) -> None:
    tx.execute(
        "INSERT INTO subscriptions (user_id, plan_code, interval, started_on) "
        "VALUES (CAST(:u AS uuid), :p, CAST(:i AS subscription_interval), :s)",
        u=user_id, p=plan_code, i=interval, s=started_on,
    )


def subscription_for_period(tx: Tx, user_id: str, period_end: date) -> dict[str, Any] | None:
    """The subscription in force at the end of the period; before the first one started, the first one."""
    return tx.one(
        "SELECT s.plan_code, s.interval::text AS interval, s.started_on FROM subscriptions s "
        "WHERE s.user_id = CAST(:u AS uuid) AND s.status <> 'EXPIRED' "
        "ORDER BY (s.started_on <= :end) DESC, "
        "         CASE WHEN s.started_on <= :end THEN s.started_on END DESC NULLS LAST, "
        "         s.started_on ASC, s.created_at DESC "
        "LIMIT 1",
        u=user_id,
        end=period_end,
    )
