"""Production-style code that talks to the key-value store through kvclient."""

from __future__ import annotations

from . import kvclient

KV_HOST = "kv.internal"


def record_visit(page: str) -> int:
    """Count one more visit to *page* and return the new total."""
    client = kvclient.connect(KV_HOST, 6380)
    try:
        key = f"visits:{page}"
        total = int(client.get(key) or 0) + 1
        client.set(key, str(total))
    finally:
        client.close()
    return total
