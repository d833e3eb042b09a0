"""Transactions: ``conn.transaction()`` and the states it walks.

(Stub: to be implemented.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg

from tripwire_core import NativeErrors, Session, Step

from ._assertions import Assertions
from ._steps import LIVE, none

if TYPE_CHECKING:
    from .plugin import AsyncpgPlugin

__all__ = [
    "TRANSACTION_ERRORS",
    "TRANSACTION_STEPS",
    "TransactionAssertions",
    "TransactionMethods",
    "unfinished",
]

TRANSACTION_STEPS = (
    Step("begin", "connected", "in_transaction", (), none, "None"),
    Step("commit", "in_transaction", "connected", (), none, "None"),
    Step("rollback", ("in_transaction", "failed_transaction"), "connected", (), none, "None"),
    Step("savepoint", "in_transaction", None, (), none, "None"),
    Step("release_savepoint", "in_transaction", None, (), none, "None"),
    Step(
        "rollback_to_savepoint",
        ("in_transaction", "failed_transaction"),
        "in_transaction",
        (),
        none,
        "None",
    ),
    # What the server does by itself.
    Step("fail", "in_transaction", "failed_transaction", scripted=False),
    Step("begin_manually", "connected", "in_transaction", scripted=False),
    Step("end_manually", LIVE, "connected", scripted=False),
)

TRANSACTION_ERRORS: NativeErrors = {
    "failed_transaction": (
        asyncpg.InFailedSQLTransactionError,
        "current transaction is aborted, commands ignored until end of transaction block",
    ),
}


class TransactionMethods:
    """``transaction()`` and ``is_in_transaction()`` for the fake connection."""

    _session: Session

    def _after_simple_query(self, query: Any) -> None:
        """Follow a ``BEGIN``/``COMMIT`` the code sent itself through ``execute``."""


class TransactionAssertions(Assertions):
    """Typed ``assert_*`` helpers for transaction steps."""


def unfinished(plugin: AsyncpgPlugin) -> list[str]:
    """Transactions left open at the end of the test, one line each."""
    return []
