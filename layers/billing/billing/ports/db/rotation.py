"""Rows whose personal fields are not yet under a given key version (or not encrypted at all)."""
from __future__ import annotations

from typing import Any

from .. import crypto
from . import Tx
from .customers import ENCRYPTED


def _stale(column: str) -> str:
    return f"({column} IS NOT NULL AND {column} NOT LIKE :prefix)"


def stale_profiles(tx: Tx, version: int, limit: int) -> list[dict[str, Any]]:
    return tx.all(
        f"SELECT user_id::text AS user_id, {', '.join(ENCRYPTED)} FROM user_profiles"
        f" WHERE {' OR '.join(_stale(c) for c in ENCRYPTED)} LIMIT :limit FOR UPDATE SKIP LOCKED",
        prefix=f"{crypto.PREFIX}{version}:%", limit=limit,
    )


def reseal_profile(tx: Tx, row: dict[str, Any], version: int) -> None:
    user_id = row["user_id"]
    values = {c: crypto.encrypt(tx, crypto.decrypt(tx, row[c], "user_profiles", c, user_id), "user_profiles", c,
                                user_id, version) for c in ENCRYPTED}
    tx.execute(f"UPDATE user_profiles SET {', '.join(f'{c} = :{c}' for c in ENCRYPTED)}"
               " WHERE user_id = CAST(:user_id AS uuid)", user_id=user_id, **values)


def stale_buyers(tx: Tx, version: int, limit: int) -> list[dict[str, Any]]:
    return tx.all(
        "SELECT id::text AS id, buyer FROM invoices WHERE NOT (buyer ? 'enc' AND buyer->>'enc' LIKE :prefix)"
        " AND purged_at IS NULL LIMIT :limit FOR UPDATE SKIP LOCKED",
        prefix=f"{crypto.PREFIX}{version}:%", limit=limit,
    )


def reseal_buyer(tx: Tx, row: dict[str, Any], version: int) -> None:
    import json

    buyer = row["buyer"]
    plain = crypto.decrypt(tx, buyer["enc"], "invoices", "buyer", row["id"]) if "enc" in buyer else json.dumps(buyer)
    sealed = {"enc": crypto.encrypt(tx, plain, "invoices", "buyer", row["id"], version)}
    tx.execute("UPDATE invoices SET buyer = CAST(:b AS jsonb) WHERE id = CAST(:i AS uuid)", b=json.dumps(sealed),
               i=row["id"])


def versions_in_use(tx: Tx) -> set[int]:
    found = set()
    for column in ENCRYPTED:
        found |= {r[0] for r in tx.con.run(
            f"SELECT DISTINCT split_part({column}, ':', 2) FROM user_profiles WHERE {column} LIKE 'enc:v%'")}
    found |= {r[0] for r in tx.con.run(
        "SELECT DISTINCT split_part(buyer->>'enc', ':', 2) FROM invoices WHERE buyer ? 'enc'")}
    return {int(v[1:]) for v in found if v.startswith("v")}
