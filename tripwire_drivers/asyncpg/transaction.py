"""Transactions: ``conn.transaction()`` and the states it walks.

(Stub: to be implemented.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tripwire_core import Session

if TYPE_CHECKING:
    from .plugin import AsyncpgPlugin

__all__ = ["TransactionMethods", "unfinished"]


class TransactionMethods:
    """``transaction()`` and ``is_in_transaction()`` for the fake connection."""

    _session: Session

    def _after_simple_query(self, query: Any) -> None:
        """Follow a ``BEGIN``/``COMMIT`` the code sent itself through ``execute``."""


def unfinished(plugin: AsyncpgPlugin) -> list[str]:
    """Transactions left open at the end of the test, one line each."""
    return []
