"""Key rotation: a new data-key version every ROTATION_DAYS, personal fields re-encrypted under it in batches.

Each batch commits on its own, so a run cut short resumes where it stopped; old versions keep decrypting until
no row uses them, then their wrapped keys are dropped.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from billing.ports import crypto
from billing.ports.db import Database, database, rotation
from billing.services import audit

ROTATION_DAYS = 30


def rotate_keys(now: datetime | None = None, *, batch: int = 200, max_batches: int = 50,
                db: Database | None = None) -> dict[str, Any]:
    now, db = now or datetime.now(timezone.utc), db or database()
    with db.transaction() as tx:
        newest = tx.one("SELECT version, created_at FROM encryption_keys WHERE version > 0 ORDER BY version DESC LIMIT 1")
        created = newest is None or now - newest["created_at"] >= timedelta(days=ROTATION_DAYS)
        version = crypto.create_version(tx) if created else newest["version"]
        if created:
            audit.record(tx, "keys.rotated", "encryption_key", str(version))
    resealed = {"profiles": 0, "invoices": 0}
    for _ in range(max_batches):
        with db.transaction() as tx:
            profiles = rotation.stale_profiles(tx, version, batch)
            for row in profiles:
                rotation.reseal_profile(tx, row, version)
            buyers = rotation.stale_buyers(tx, version, batch)
            for row in buyers:
                rotation.reseal_buyer(tx, row, version)
        resealed["profiles"] += len(profiles)
        resealed["invoices"] += len(buyers)
        if not profiles and not buyers:
            break
    with db.transaction() as tx:
        in_use = rotation.versions_in_use(tx) | {version}
        retired = [r[0] for r in tx.con.run(
            "DELETE FROM encryption_keys WHERE version > 0 AND NOT (version = ANY(CAST(:v AS integer[])))"
            " RETURNING version", v=sorted(in_use))]
    return {"version": version, "created": created, "resealed": resealed, "retired": retired}
