"""The fake ``sqlite3.Connection`` the code under test receives.

Every call runs through the session: its state machine says what is legal,
its script says what happens.  ``commit``, ``rollback`` and ``close`` are
scripted steps; the implicit ``BEGIN`` before a DML statement and the
transaction statements the code sends itself (``BEGIN``, ``COMMIT``,
``SAVEPOINT``...) move the state with unscripted steps, as SQLite would.
"""

from __future__ import annotations

import sqlite3
from threading import get_ident
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

from tripwire_core import (
    NOTHING,
    ClientCheckError,
    InvalidStateError,
    NotSupportedError,
    RefusalError,
    Session,
    UnmockedInteractionError,
)

from ._statements import Statement
from .cursor import Cursor, unsupported
from .result import UNSCRIPTED

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["SUPPORTED", "Connection", "check_isolation_level"]

SUPPORTED = (
    "execute",
    "executemany",
    "cursor",
    "commit",
    "rollback",
    "close",
    "`with connection:`",
    "in_transaction",
    "isolation_level",
    "total_changes",
    "row_factory (None)",
    "text_factory (str)",
)

_NO_FIELDS: Any = MappingProxyType({})
_ISOLATION_LEVELS = frozenset({"", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"})


def check_isolation_level(value: Any) -> str | None:
    """*value* as sqlite3 stores it, or sqlite3's TypeError/ValueError."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("isolation_level must be str or None")
    upper = value.upper()
    if upper not in _ISOLATION_LEVELS:
        raise ValueError(
            "isolation_level string must be '', 'DEFERRED', 'IMMEDIATE', or 'EXCLUSIVE'"
        )
    return upper


class Connection:
    """A scripted stand-in for ``sqlite3.Connection``."""

    __slots__ = (
        "_changes",
        "_changes_from",
        "_isolation_level",
        "_last_rowid",
        "_last_rowid_from",
        "_legacy",
        "_savepoints",
        "_session",
        "_thread",
    )

    # DB-API extension that sqlite3 implements: the module's exception
    # classes as connection attributes, so `except conn.Error` works.
    Warning = sqlite3.Warning
    Error = sqlite3.Error
    InterfaceError = sqlite3.InterfaceError
    DatabaseError = sqlite3.DatabaseError
    DataError = sqlite3.DataError
    OperationalError = sqlite3.OperationalError
    IntegrityError = sqlite3.IntegrityError
    InternalError = sqlite3.InternalError
    ProgrammingError = sqlite3.ProgrammingError
    NotSupportedError = sqlite3.NotSupportedError

    def __init__(
        self, session: Session, *, isolation_level: str | None, check_same_thread: bool
    ) -> None:
        self._session = session
        self._isolation_level = isolation_level
        self._legacy = isolation_level is not None
        self._thread = get_ident() if check_same_thread else None
        self._savepoints: list[tuple[str, bool]] = []
        self._changes: Any = 0
        self._changes_from = ("", "")
        self._last_rowid: Any = 0
        self._last_rowid_from = ("", "")

    def __repr__(self) -> str:
        session = self._session
        return f"<tripwire sqlite3 Connection {session.label} state={session.state}>"

    # Statements: through a new cursor, as sqlite3 does.

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        """Run one statement on a new cursor and return the cursor."""
        return Cursor(self).execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Cursor:
        """Run one statement per parameter set on a new cursor."""
        return Cursor(self).executemany(sql, parameters)

    def cursor(self, factory: Any = NOTHING) -> Cursor:
        """A new cursor (not a step: it sends nothing to the database)."""
        self._check_thread()
        self._session.check("cursor", _NO_FIELDS)
        if factory is not NOTHING and factory is not sqlite3.Cursor:
            raise self._session.plugin.refuse(
                NotSupportedError,
                f"cursor(factory={factory!r}) is not supported by tripwire's sqlite3 fake: "
                "it returns its own cursors.",
            )
        return Cursor(self)

    # Transactions

    def commit(self) -> None:
        """The session's next ``commit`` step (a no-op in sqlite3 outside a transaction)."""
        self._end("commit")

    def rollback(self) -> None:
        """The session's next ``rollback`` step (a no-op outside a transaction)."""
        self._end("rollback")

    def close(self) -> None:
        """The session's next ``close`` step; closing twice is a no-op, as in sqlite3."""
        self._check_thread()
        if self._session.state != "closed":
            self._end("close")

    def __enter__(self) -> Self:
        self._session.check("inspect", _NO_FIELDS)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        # Commits on success, rolls back on an exception; never closes.
        self._session.check("inspect", _NO_FIELDS)
        if exc_type is not None:
            self._end("rollback")
            return False
        try:
            self._end("commit")
        except RefusalError:
            raise
        except BaseException:
            # sqlite3 rolls back a failed commit so the database is not left
            # locked; a failing rollback is chained to the commit's error.
            self._end("rollback")
            raise
        return False

    def _end(self, step: str) -> None:
        self._check_thread()
        # A scripted failure leaves the state alone, so a COMMIT that fails
        # keeps the transaction open, as in SQLite.
        self._session.call(step, _NO_FIELDS)
        self._savepoints.clear()

    # Attributes

    @property
    def in_transaction(self) -> bool:
        self._session.check("inspect", _NO_FIELDS)
        return self._session.state == "in_transaction"

    @property
    def isolation_level(self) -> str | None:
        self._session.check("inspect", _NO_FIELDS)
        return self._isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        level = check_isolation_level(value)
        self._isolation_level = level
        self._legacy = level is not None
        if level is None:
            # sqlite3 commits an open transaction to enter autocommit mode:
            # a real COMMIT, so it is the script's next "commit" step.
            self._check_thread()
            self._session.check("inspect", _NO_FIELDS)
            if self._session.state == "in_transaction":
                self._end("commit")

    @property
    def total_changes(self) -> int:
        """Rows changed since connecting: the sum of the scripted rowcounts."""
        self._session.check("inspect", _NO_FIELDS)
        if self._changes is UNSCRIPTED:
            session = self._session
            step, sql = self._changes_from
            raise session.plugin.refuse(
                UnmockedInteractionError,
                f"{session.label}: Connection.total_changes was read, but the script of "
                f"{step}({sql!r}) does not say how many rows it changed.\n"
                "Script it there: returns=tripwire.sqlite3.Result(rows=[], rowcount=1)",
            )
        value: int = self._changes
        return value

    @property
    def row_factory(self) -> None:
        return None

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        if value is not None:
            raise self._unsupported_row_factory("Connection")

    @property
    def text_factory(self) -> type[str]:
        return str

    @text_factory.setter
    def text_factory(self, value: Any) -> None:
        if value is not str:
            raise self._session.plugin.refuse(
                NotSupportedError,
                f"text_factory={value!r} is not supported by tripwire's sqlite3 fake: "
                "rows are returned exactly as scripted.",
            )

    def __getattr__(self, name: str) -> Any:
        return unsupported(self._session, sqlite3.Connection, name, SUPPORTED)

    # For the cursor: checks and bookkeeping of one statement.

    def _check_thread(self) -> None:
        thread = self._thread
        if thread is not None and thread != get_ident():
            raise self._session.plugin.refuse(
                ClientCheckError,
                "SQLite objects created in a thread can only be used in that same thread. "
                f"The object was created in thread id {thread} and this is thread id "
                f"{get_ident()}.",
                native=sqlite3.ProgrammingError,
                note=f"{self._session.label} was connected with check_same_thread=True; pass "
                "check_same_thread=False to connect() to share the connection.",
            )

    def _implicit_begin(self) -> None:
        # sqlite3 sends BEGIN before a DML statement when no transaction is
        # open, before it binds the parameters.
        if self._session.state == "idle":
            self._session.transition("begin")

    def _check_control(self, statement: Statement, step: str, fields: dict[str, Any]) -> None:
        """Refuse a transaction statement SQLite would fail in this state."""
        assert statement.control is not None
        action, name = statement.control
        session = self._session
        if action == "begin":
            if session.state == "in_transaction":
                session.check("begin", fields)
            return
        session.check(step, fields)
        if action in ("commit", "rollback"):
            if session.state != "idle":
                return
            message = f"cannot {action} - no transaction is active"
        elif action in ("release", "rollback_to"):
            if self._find(name) >= 0:
                return
            message = f"no such savepoint: {_unquote(name)}"
        else:
            return
        raise session.plugin.refuse(
            InvalidStateError,
            message,
            native=sqlite3.OperationalError,
            note=f"{session.label} is in state {session.state!r}: {step}({fields['sql']!r}) "
            "fails in SQLite there.",
        )

    def _apply_control(self, statement: Statement) -> None:
        """Move the state after a transaction statement the code sent itself."""
        assert statement.control is not None
        action, name = statement.control
        session = self._session
        savepoints = self._savepoints
        if action == "begin":
            session.transition("begin")
            savepoints.clear()
        elif action in ("commit", "rollback"):
            session.transition("end")
            savepoints.clear()
        elif action == "savepoint":
            # A SAVEPOINT outside a transaction opens one; releasing that
            # savepoint ends it.
            opened = session.state == "idle"
            if opened:
                session.transition("begin")
            savepoints.append((_key(name), opened))
        else:
            index = self._find(name)
            if action == "rollback_to":
                del savepoints[index + 1 :]
            else:
                opened = savepoints[index][1]
                del savepoints[index:]
                if opened:
                    session.transition("end")

    def _find(self, name: str) -> int:
        key = _key(name)
        for index in range(len(self._savepoints) - 1, -1, -1):
            if self._savepoints[index][0] == key:
                return index
        return -1

    def _count_changes(self, rowcount: Any, culprit: tuple[str, str]) -> None:
        """Add the rows a statement that writes changed to ``total_changes``."""
        if self._changes is UNSCRIPTED:
            return
        if rowcount is UNSCRIPTED or rowcount < 0:
            self._changes = UNSCRIPTED
            self._changes_from = culprit
        else:
            self._changes += rowcount

    def _note_insert(
        self, statement: Statement, lastrowid: int | None, culprit: tuple[str, str]
    ) -> None:
        """Move the connection's last inserted rowid after *statement*."""
        if lastrowid is not None:
            self._last_rowid = lastrowid
        elif statement.inserts:
            self._last_rowid = UNSCRIPTED
            self._last_rowid_from = culprit

    def _unsupported_row_factory(self, owner: str) -> RefusalError:
        return self._session.plugin.refuse(
            NotSupportedError,
            f"{owner}.row_factory is not supported by tripwire's sqlite3 fake: rows are "
            "tuples, as scripted (sqlite3.Row needs a real cursor).",
        )


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] in "\"'`" and name[-1] == name[0]:
        return name[1:-1].replace(name[0] * 2, name[0])
    if len(name) >= 2 and name[0] == "[" and name[-1] == "]":
        return name[1:-1]
    return name


def _key(name: str) -> str:
    # SQLite compares savepoint names without regard to ASCII case.
    return _unquote(name).lower()
