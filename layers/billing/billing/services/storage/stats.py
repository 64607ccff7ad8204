"""How much the documents weigh: files, bytes and average size, for everyone or one customer."""
from __future__ import annotations

from typing import Any

from billing.ports.storage import Storage, storage


def storage_stats(user_id: str | None = None, *, store: Storage | None = None) -> dict[str, Any]:
    store = store or storage()
    prefixes = [f"invoices/{user_id}/", f"archive/invoices/{user_id}/"] if user_id else ["invoices/", "archive/invoices/"]
    objects = [o for prefix in prefixes for o in store.list_keys(prefix)]
    total = sum(o["size"] for o in objects)
    archived = sum(1 for o in objects if o["key"].startswith("archive/"))
    return {"user_id": user_id, "files": len(objects), "bytes": total,
            "average_bytes": round(total / len(objects)) if objects else 0, "archived_files": archived}
