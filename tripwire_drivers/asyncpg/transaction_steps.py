"""The transaction steps, their native errors, and their assertions.

``begin``, ``commit`` and ``rollback`` move a connection in and out of a
transaction; the savepoint steps keep the state.  The unscripted steps are
what the server does by itself: fail a transaction on an error, end one on
a rejected ``COMMIT``, and follow the ``BEGIN``/``COMMIT`` the code sends
through ``execute()``.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from tripwire_core import NOTHING, NativeErrors, Step

from ._assertions import Assertions
from ._steps import LIVE, given, none
from .transaction_status import IN_TRANSACTION

__all__ = ["TRANSACTION_ERRORS", "TRANSACTION_STEPS", "TransactionAssertions"]

TRANSACTION_STEPS = (
    Step("begin", "connected", "in_transaction", (), none, "None"),
    # COMMIT of a failed transaction is accepted by the server, which rolls back.
    Step("commit", IN_TRANSACTION, "connected", (), none, "None"),
    Step("rollback", IN_TRANSACTION, "connected", (), none, "None"),
    Step("savepoint", "in_transaction", None, (), none, "None"),
    Step("release_savepoint", "in_transaction", None, (), none, "None"),
    Step("rollback_to_savepoint", IN_TRANSACTION, "in_transaction", (), none, "None"),
    # What the server does by itself.
    Step("fail", "in_transaction", "failed_transaction", scripted=False),
    Step("commit_failed", IN_TRANSACTION, "connected", scripted=False),
    Step("begin_manually", "connected", "in_transaction", scripted=False),
    Step("end_manually", LIVE, "connected", scripted=False),
    Step("resume_manually", IN_TRANSACTION, "in_transaction", scripted=False),
)


def _outside(statement: str) -> tuple[type[BaseException], str]:
    return (
        asyncpg.NoActiveSQLTransactionError,
        f"{statement} can only be used in transaction blocks",
    )


TRANSACTION_ERRORS: NativeErrors = {
    "failed_transaction": (
        asyncpg.InFailedSQLTransactionError,
        "current transaction is aborted, commands ignored until end of transaction block",
    ),
    # A savepoint of a transaction ended behind asyncpg's back (manual COMMIT).
    ("connected", "savepoint"): _outside("SAVEPOINT"),
    ("connected", "release_savepoint"): _outside("RELEASE SAVEPOINT"),
    ("connected", "rollback_to_savepoint"): _outside("ROLLBACK TO SAVEPOINT"),
}


class TransactionAssertions(Assertions):
    """Typed ``assert_*`` helpers for transaction steps."""

    def assert_begin(
        self, *, isolation: Any = NOTHING, readonly: Any = NOTHING, deferrable: Any = NOTHING
    ) -> None:
        """Assert the next ``begin``: name the options the code passed to transaction()."""
        __tracebackhide__ = True
        self.assert_step(
            "begin", **given(isolation=isolation, readonly=readonly, deferrable=deferrable)
        )

    def assert_commit(self, *, rolled_back: Any = NOTHING) -> None:
        """Assert the next ``commit``; ``rolled_back=True`` if the transaction had failed."""
        __tracebackhide__ = True
        self.assert_step("commit", **given(rolled_back=rolled_back))

    def assert_rollback(self) -> None:
        """Assert the next ``rollback`` of a top-level transaction."""
        __tracebackhide__ = True
        self.assert_step("rollback")

    def assert_savepoint(self) -> None:
        """Assert the next ``savepoint`` (a nested transaction started)."""
        __tracebackhide__ = True
        self.assert_step("savepoint")

    def assert_release_savepoint(self) -> None:
        """Assert the next ``release_savepoint`` (a nested transaction committed)."""
        __tracebackhide__ = True
        self.assert_step("release_savepoint")

    def assert_rollback_to_savepoint(self) -> None:
        """Assert the next ``rollback_to_savepoint`` (a nested transaction rolled back)."""
        __tracebackhide__ = True
        self.assert_step("rollback_to_savepoint")
