"""Transactions: ``conn.transaction()`` and the states it walks.

A top-level transaction moves the session connected -> in_transaction ->
connected through the scripted steps ``begin`` and ``commit``/``rollback``;
a transaction started while another is active is a savepoint
(``savepoint``, then ``release_savepoint`` or ``rollback_to_savepoint``),
which keeps the state.  A scripted server error inside a transaction moves
it to failed_transaction (see ``Connection._call``); only a rollback leads
out.  ``BEGIN``/``COMMIT``/``ROLLBACK`` sent through ``execute`` move the
state with unscripted steps, as the server's status does.

The :class:`Transaction` keeps asyncpg's own states (NEW, STARTED, ...) and
raises asyncpg's misuse errors, word for word, as refusals.
"""

from __future__ import annotations

import weakref
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import asyncpg
import asyncpg.transaction

from tripwire_core import (
    NOTHING,
    ClientCheckError,
    ConfigurationError,
    InvalidStateError,
    NativeErrors,
    RefusalError,
    Session,
    Step,
)

from ._assertions import Assertions
from ._control import BEGIN as _BEGIN
from ._control import END as _END
from ._control import RESUME as _RESUME
from ._control import control as _control
from ._steps import LIVE, given, none

if TYPE_CHECKING:
    from .plugin import AsyncpgPlugin

__all__ = [
    "TRANSACTION_ERRORS",
    "TRANSACTION_STEPS",
    "Transaction",
    "TransactionAssertions",
    "TransactionMethods",
    "unfinished",
]

TRANSACTION_STEPS = (
    Step("begin", "connected", "in_transaction", (), none, "None"),
    # COMMIT of a failed transaction is accepted by the server, which rolls back.
    Step("commit", ("in_transaction", "failed_transaction"), "connected", (), none, "None"),
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
    Step("commit_failed", ("in_transaction", "failed_transaction"), "connected", scripted=False),
    Step("begin_manually", "connected", "in_transaction", scripted=False),
    Step("end_manually", LIVE, "connected", scripted=False),
    Step(
        "resume_manually",
        ("in_transaction", "failed_transaction"),
        "in_transaction",
        scripted=False,
    ),
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

_NEW = asyncpg.transaction.TransactionState.NEW
_STARTED = asyncpg.transaction.TransactionState.STARTED
_COMMITTED = asyncpg.transaction.TransactionState.COMMITTED
_ROLLEDBACK = asyncpg.transaction.TransactionState.ROLLEDBACK
_FAILED = asyncpg.transaction.TransactionState.FAILED
_OPEN = ("in_transaction", "failed_transaction")
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


class _Ledger:
    """A connection's transaction bookkeeping, also read per session by :func:`unfinished`.

    Plain data only: it is kept in a weak mapping keyed by the session, so it
    must not refer back to the session.
    """

    __slots__ = ("managed", "opened_by", "savepoints")

    def __init__(self) -> None:
        self.opened_by = ""  # how the open transaction began; "" when none is open
        self.managed = False  # the top-level Transaction is inside `async with`
        self.savepoints = 0  # savepoints started and not ended (the nesting depth)

    def settle(self, state: str) -> None:
        if state not in _OPEN:
            self.opened_by = ""
            self.savepoints = 0


_LEDGERS: weakref.WeakKeyDictionary[Session, _Ledger] = weakref.WeakKeyDictionary()


class TransactionMethods:
    """``transaction()`` and ``is_in_transaction()`` for the fake connection."""

    _session: Session

    if TYPE_CHECKING:
        # Provided by Connection.
        def _call(self, step: str, fields: dict[str, Any]) -> Any: ...

        async def fetchval(
            self, query: str, *args: Any, column: int | str = 0, timeout: float | None = None
        ) -> Any: ...

    def __init__(self) -> None:
        super().__init__()
        self._top_xact: Transaction | None = None
        self._transactions = _LEDGERS[self._session] = _Ledger()

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

    def is_in_transaction(self) -> bool:
        session = self._session
        session.check_sandbox("is_in_transaction")
        state = session.state
        if state in _OPEN:
            return True
        if state == "closed":
            if _last_step(session) == "terminate":
                # terminate() drops asyncpg's protocol object, and this reads it.
                raise AttributeError("'NoneType' object has no attribute 'is_in_transaction'")
            # After close(), asyncpg answers from the last status the server sent.
            return bool(self._transactions.opened_by)
        if state != "connected":
            raise session.plugin.refuse(
                InvalidStateError,
                f"{session.label}: is_in_transaction() on a {state} connection.",
                state=state,
                step="is_in_transaction",
            )
        return False

    def _after_simple_query(self, query: Any) -> None:
        """Follow a ``BEGIN``/``COMMIT`` the code sent itself through ``execute``."""
        kind = _control(query)
        if kind is None:
            return
        session = self._session
        state = session.state
        if kind == _BEGIN:
            if state == "connected":
                session.transition("begin_manually")
                self._transactions.opened_by = f"execute({_short(query)})"
        elif state in _OPEN:
            session.transition("end_manually" if kind == _END else "resume_manually")
            self._transactions.settle(session.state)

    def _execute_in_failed_transaction(self, query: Any, args: tuple[Any, ...]) -> None:
        """Refuse what PostgreSQL refuses in an aborted transaction.

        For ``execute`` in failed_transaction: only a plain ``ROLLBACK``,
        ``COMMIT`` (which rolls back), ``ROLLBACK TO SAVEPOINT`` and the like
        get through to the script.
        """
        if not args and _control(query) in (_END, _RESUME):
            return
        session = self._session
        raise session.plugin.refuse(
            InvalidStateError,
            f"{session.label}: execute({_short(query)}) in a failed transaction: the server "
            "refuses every command but ROLLBACK (or ROLLBACK TO SAVEPOINT) until it ends.",
            state="failed_transaction",
            step="execute",
        )


# Python names the method in its own TypeError texts; asyncpg's is Connection's.
for _method in (TransactionMethods.transaction, TransactionMethods.is_in_transaction):
    _method.__qualname__ = f"Connection.{_method.__name__}"

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
            if session.state in _OPEN:
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
                and session.state in _OPEN
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
        state = session.state
        released = state == "released"
        why = "has been released back to the pool" if released else "is closed"
        return session.plugin.refuse(
            InvalidStateError,
            f"cannot call Transaction.{name}(): the underlying connection {why}",
            native=asyncpg.InterfaceError,
            note=f"{session.label}: Transaction.{name}() was called after the connection was "
            f"{'released' if released else 'closed'}; end a transaction before that.",
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


def unfinished(plugin: AsyncpgPlugin) -> list[str]:
    """Transactions left open at the end of the test, one line each.

    Counted: a session still in a transaction, and a connection closed or
    released while a transaction it began was open, unless that transaction
    is inside ``async with`` (whose exit then raises, as asyncpg's does).
    """
    lines = []
    for session in plugin.sessions:
        ledger = _LEDGERS.get(session)
        state = session.state
        how = ledger.opened_by if ledger is not None and ledger.opened_by else "BEGIN"
        if state in _OPEN:
            depth = ledger.savepoints if ledger is not None else 0
            nested = f", {depth} savepoint(s) deep" if depth else ""
            lines.append(
                f"{session.label}: a transaction begun by {how} is still open ({state}{nested}) "
                "at the end of the test; commit or roll it back (`async with "
                "conn.transaction():` does it for you)."
            )
        elif (
            state in ("closed", "released")
            and ledger is not None
            and ledger.opened_by
            and not ledger.managed
        ):
            what = "released to its pool" if state == "released" else "closed"
            lines.append(
                f"{session.label}: the connection was {what} while a transaction begun by "
                f"{how} was open, so asyncpg rolled it back; commit or roll it back first."
            )
    return lines


def _last_step(session: Session) -> str | None:
    """The last step *session* recorded (a slow path: closed connections only)."""
    last = None
    source = session.plugin.name
    for interaction in session.plugin.verifier.timeline:
        if interaction.session == session.number and interaction.source == source:
            last = interaction.step
    return last


def _short(query: Any) -> str:
    text = repr(query)
    return text if len(text) <= 40 else f"{text[:36]}...{text[-1]}"
