"""The connection's transaction status, and the transactions a test leaves open.

PostgreSQL reports after each command whether a transaction is open,
whoever began it; ``is_in_transaction()`` answers from the session's state.
``BEGIN``/``COMMIT``/``ROLLBACK`` the code sends itself through ``execute()``
move that state with unscripted steps, and in a failed transaction only a
statement that ends it gets through.  Each connection keeps a
:class:`TransactionLedger` of how its open transaction began, which
:func:`unfinished` reads at the end of the test.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from tripwire_core import InvalidStateError, Session

from ._control import BEGIN as _BEGIN
from ._control import END as _END
from ._control import RESUME as _RESUME
from ._control import control as _control

if TYPE_CHECKING:
    from .plugin import AsyncpgPlugin

__all__ = ["IN_TRANSACTION", "TransactionLedger", "TransactionStatus", "unfinished"]

#: The states of a connection inside a transaction (failed or not).
IN_TRANSACTION = ("in_transaction", "failed_transaction")


class TransactionLedger:
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
        """Forget the open transaction if *state* says it ended."""
        if state not in IN_TRANSACTION:
            self.opened_by = ""
            self.savepoints = 0


_LEDGERS: weakref.WeakKeyDictionary[Session, TransactionLedger] = weakref.WeakKeyDictionary()


class TransactionStatus:
    """``is_in_transaction()`` for the fake connection, and the server's status it reads.

    Sets up the connection's ledger; :class:`~.transaction.TransactionMethods`
    builds on it.
    """

    _session: Session

    def __init__(self) -> None:
        super().__init__()
        self._transactions = _LEDGERS[self._session] = TransactionLedger()

    def is_in_transaction(self) -> bool:
        session = self._session
        session.check_sandbox("is_in_transaction")
        state = session.state
        if state in IN_TRANSACTION:
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
        elif state in IN_TRANSACTION:
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
TransactionStatus.is_in_transaction.__qualname__ = "Connection.is_in_transaction"


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
        if state in IN_TRANSACTION:
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
