"""Cursors: ``conn.cursor()``, iterated with ``async for`` or awaited.

(Stub: to be implemented.)
"""

from __future__ import annotations

import asyncpg

from tripwire_core import NativeErrors, Session, Step

from ._assertions import Assertions
from .records import to_records

__all__ = ["CURSOR_STEPS", "CursorMethods", "CursorAssertions", "CURSOR_ERRORS"]

CURSOR_STEPS = (
    Step("cursor", "in_transaction", None, ("query", "args"), to_records, "a list of dicts (rows)"),
)

CURSOR_ERRORS: NativeErrors = {
    ("connected", "cursor"): (
        asyncpg.NoActiveSQLTransactionError,
        "cursor cannot be created outside of a transaction",
    ),
}


class CursorMethods:
    """Mixin of the fake connection."""

    _session: Session


class CursorAssertions(Assertions):
    """Typed ``assert_*`` helpers."""
