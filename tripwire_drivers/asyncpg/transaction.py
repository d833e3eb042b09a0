"""Transactions: ``conn.transaction()`` and the :class:`Transaction` it returns.

A top-level transaction moves the session connected -> in_transaction ->
connected through the scripted steps ``begin`` and ``commit``/``rollback``;
a transaction started while another is active is a savepoint
(``savepoint``, then ``release_savepoint`` or ``rollback_to_savepoint``),
which keeps the state.  A scripted server error inside a transaction moves
it to failed_transaction (see ``Connection._call``); only a rollback leads
out.  The steps are declared in :mod:`.transaction_steps`; the server's
status, ``BEGIN``/``COMMIT`` sent through ``execute``, and the transactions
a test leaves open are in :mod:`.transaction_status`.

The :class:`Transaction` keeps asyncpg's own states (NEW, STARTED, ...) and
raises asyncpg's misuse errors, word for word, as refusals.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import asyncpg
import asyncpg.transaction

from tripwire_core import (
    ClientCheckError,
    ConfigurationError,
    InvalidStateError,
    RefusalError,
    Session,
)

from ._resource import connection_gone
from ._steps import LIVE
from .transaction_status import IN_TRANSACTION, TransactionStatus, unfinished
from .transaction_steps import TRANSACTION_ERRORS, TRANSACTION_STEPS, TransactionAssertions

__all__ = [
    # Defined here.
    "Transaction",
    "TransactionMethods",
    # Defined in .transaction_steps and .transaction_status; the plugin imports them from here.
    "TRANSACTION_ERRORS",
    "TRANSACTION_STEPS",
    "TransactionAssertions",
    "unfinished",
]

_NEW = asyncpg.transaction.TransactionState.NEW
_STARTED = asyncpg.transaction.TransactionState.STARTED
_COMMITTED = asyncpg.transaction.TransactionState.COMMITTED
_ROLLEDBACK = asyncpg.transaction.TransactionState.ROLLEDBACK
_FAILED = asyncpg.transaction.TransactionState.FAILED
_ONE_BLOCK = "a Transaction object is good for one block; call conn.transaction() again."
_STATE_ERRORS = {
    _NEW: (
        "not yet started",
        "it was never started; await tr.start() first, or use `async with conn.transaction():`.",
    ),
    _COMMITTED: ("already committed", _ONE_BLOCK),
    _ROLLEDBACK: ("already rolled back", _ONE_BLOCK),
    _FAILED: (
        "in error state",
        "its begin, commit or rollback step raised, so asyncpg gave up on it.",
    ),
}


class TransactionMethods(TransactionStatus):
    """``transaction()`` for the fake connection (``is_in_transaction()`` is inherited)."""

    _session: Session

    if TYPE_CHECKING:
        # Provided by Connection.
        def _call(self, step: str, fields: dict[str, Any]) -> Any: ...

        async def fetchval(
            self, query: str, *args: Any, column: int | str = 0, timeout: float | None = None
        ) -> Any: ...

    def __init__(self) -> None:
        super().__init__()
        # The top-level Transaction while one is started, as asyncpg keeps it.
        self._top_xact: Transaction | None = None

    def transaction(
        self, *, isolation: str | None = None, readonly: bool = False, deferrable: bool = False
    ) -> Transaction:
        session = self._session
        session.check_sandbox("transaction")
        if session.state not in LIVE:
            raise session.plugin.refuse(
                InvalidStateError,
                f"{session.label}: conn.transaction() was called on a {session.state} connection.",
                state=session.state,
                step="transaction",
            )
        if isolation and isolation not in asyncpg.transaction.ISOLATION_LEVELS:
            raise ValueError(
                f"isolation is expected to be either of "
                f"{asyncpg.transaction.ISOLATION_LEVELS}, got {isolation!r}"
            )
        return Transaction(self, isolation, readonly, deferrable)


# Python names the method in its own TypeError texts; asyncpg's is Connection's.
TransactionMethods.transaction.__qualname__ = "Connection.transaction"

# asyncpg's metaclass-free Transaction, subclassed so isinstance() holds.
_TransactionBase: type = asyncpg.transaction.Transaction


class Transaction(_TransactionBase):  # type: ignore[misc]
    """A scripted stand-in for ``asyncpg.transaction.Transaction``.

    Same shape: ``start()``, ``commit()`` and ``rollback()`` check the
    connection when called and return a coroutine; ``async with`` commits on
    success and rolls back on an exception, which it never swallows.
    """

    if not TYPE_CHECKING:  # mypy cannot see the slots of asyncpg's class
        __slots__ = ()

    _connection: TransactionMethods
    _isolation: str | None
    _readonly: bool
    _deferrable: bool
    _state: Any
    _nested: bool
    _id: str | None
    _managed: bool

    def __init__(
        self,
        connection: TransactionMethods,
        isolation: str | None,
        readonly: bool,
        deferrable: bool,
    ) -> None:
        # asyncpg's __init__ reads pool internals; only its fields are kept.
        self._connection = connection
        self._isolation = isolation
        self._readonly = readonly
        self._deferrable = deferrable
        self._state = _NEW
        self._nested = False
        self._id = None
        self._managed = False

    def __repr__(self) -> str:
        attrs = [f"state:{self._state.name.lower()}"]
        if self._isolation is not None:
            attrs.append(self._isolation)
        if self._readonly:
            attrs.append("readonly")
        if self._deferrable:
            attrs.append("deferrable")
        return f"<asyncpg.Transaction {' '.join(attrs)} {id(self):#x}>"

    async def __aenter__(self) -> None:
        if self._managed:
            raise self._misuse(
                "cannot enter context: already in an `async with` block",
                "the same Transaction object was entered again inside its own block; "
                "call conn.transaction() again for a nested block.",
            )
        self._managed = True
        await self.start()

    async def __aexit__(self, extype: Any, ex: Any, tb: Any) -> None:
        if self._connection_unusable("__aexit__"):
            if extype is GeneratorExit:
                # asyncpg leaves the ROLLBACK to the pool's release here.
                return
            raise self._connection_refusal("__aexit__")
        try:
            if extype is not None:
                await self._rollback()
            else:
                await self._commit()
        finally:
            self._managed = False
            if not self._nested:
                self._connection._transactions.managed = False

    def start(self) -> Coroutine[Any, Any, None]:
        """Enter the transaction or savepoint block."""
        self._check_conn_validity("start")
        return self._start()

    def commit(self) -> Coroutine[Any, Any, None]:
        """Exit the transaction or savepoint block and commit changes."""
        self._check_conn_validity("commit")
        return self._end_manually("commit")

    def rollback(self) -> Coroutine[Any, Any, None]:
        """Exit the transaction or savepoint block and rollback changes."""
        self._check_conn_validity("rollback")
        return self._end_manually("rollback")

    async def _start(self) -> None:
        self._check_state("start")
        if self._state is _STARTED:
            raise self._misuse(
                "cannot start; the transaction is already started",
                "start() was called twice on the same Transaction.",
            )
        con = self._connection
        session = con._session
        ledger = con._transactions
        if con._top_xact is None:
            if session.state in IN_TRANSACTION:
                raise self._misuse(
                    "cannot use Connection.transaction() in a manually started transaction",
                    f"the code sent {ledger.opened_by or 'BEGIN'} itself, then started a "
                    "Transaction: end the manual transaction first, or use only one style.",
                )
            # Set before BEGIN runs, and left set if it fails, as asyncpg does.
            con._top_xact = self
            ledger.managed = self._managed
        else:
            if self._isolation:
                await self._check_nested_isolation(con._top_xact._isolation)
            self._nested = True
        try:
            if self._nested:
                con._call("savepoint", {})
            else:
                con._call("begin", self._options())
        except BaseException:
            self._state = _FAILED
            raise
        self._state = _STARTED
        if self._nested:
            ledger.savepoints += 1
        else:
            ledger.opened_by = "conn.transaction()"

    async def _check_nested_isolation(self, outer: str | None) -> None:
        if outer is None:
            # asyncpg asks the server; the fake runs (and records) the same query.
            shown = await self._connection.fetchval("SHOW transaction_isolation;")
            outer = asyncpg.transaction.ISOLATION_LEVELS_BY_VALUE.get(shown)
            if outer is None:
                raise ConfigurationError(
                    f"fetchval('SHOW transaction_isolation;') returned {shown!r}; script what "
                    "PostgreSQL answers: 'read committed', 'repeatable read' or 'serializable'"
                )
        if self._isolation != outer:
            raise self._misuse(
                f"nested transaction has a different isolation level: "
                f"current {self._isolation!r} != outer {outer!r}",
                "a nested transaction (a savepoint) runs at the level of the outer one; "
                "leave isolation out of the inner conn.transaction().",
            )

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self._isolation is not None:
            options["isolation"] = self._isolation
        if self._readonly:
            options["readonly"] = self._readonly
        if self._deferrable:
            options["deferrable"] = self._deferrable
        return options

    async def _end_manually(self, operation: str) -> None:
        if self._managed:
            raise self._misuse(
                f"cannot manually {operation} from within an `async with` block",
                f"the `async with` block ends the transaction itself; remove the {operation}() "
                "call (raise an exception to roll back).",
            )
        await (self._commit() if operation == "commit" else self._rollback())

    async def _commit(self) -> None:
        self._check_state("commit", started=True)
        con = self._connection
        session = con._session
        if con._top_xact is self:
            con._top_xact = None
        if self._nested:
            self._end("release_savepoint", {})
        else:
            # The server answers COMMIT of an aborted transaction with ROLLBACK;
            # the recorded field makes the test say so.
            failed = session.state == "failed_transaction"
            self._end("commit", {"rolled_back": True} if failed else {})
        self._state = _COMMITTED

    async def _rollback(self) -> None:
        self._check_state("rollback", started=True)
        con = self._connection
        if con._top_xact is self:
            con._top_xact = None
        self._end("rollback_to_savepoint" if self._nested else "rollback", {})
        self._state = _ROLLEDBACK

    def _end(self, step: str, fields: dict[str, Any]) -> None:
        con = self._connection
        session = con._session
        ledger = con._transactions
        try:
            con._call(step, fields)
        except BaseException as error:
            self._state = _FAILED
            if (
                step == "commit"
                and isinstance(error, asyncpg.PostgresError)
                and not isinstance(error, RefusalError)
                and session.state in IN_TRANSACTION
            ):
                # A COMMIT the server rejects (a deferred constraint, a
                # serialization failure) still ends the transaction.
                session.transition("commit_failed")
            raise
        finally:
            if self._nested:
                ledger.savepoints = max(0, ledger.savepoints - 1)
            else:
                ledger.settle(session.state)

    # asyncpg's checks, worded as asyncpg words them.

    def _check_conn_validity(self, name: str) -> None:
        if self._connection_unusable(name):
            raise self._connection_refusal(name)

    def _connection_unusable(self, name: str) -> bool:
        session = self._connection._session
        session.check_sandbox(f"Transaction.{name}")
        return session.state not in LIVE

    def _connection_refusal(self, name: str) -> RefusalError:
        session = self._connection._session
        gone = "released" if session.state == "released" else "closed"
        return connection_gone(
            session,
            "Transaction",
            name,
            f"{session.label}: Transaction.{name}() was called after the connection was "
            f"{gone}; end a transaction before that.",
        )

    def _check_state(self, operation: str, *, started: bool = False) -> None:
        """asyncpg's check of the Transaction's own state (*started*: must be STARTED)."""
        state = self._state
        if state is _STARTED or (state is _NEW and not started):
            return
        wording, why = _STATE_ERRORS[state]
        raise self._misuse(f"cannot {operation}; the transaction is {wording}", why)

    def _misuse(self, message: str, why: str) -> RefusalError:
        session = self._connection._session
        return session.plugin.refuse(
            ClientCheckError,
            message,
            native=asyncpg.InterfaceError,
            note=f"{session.label}: {why}",
        )
