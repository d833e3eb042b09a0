"""The fake ``sqlite3.Connection`` the code under test receives.

Every call runs through the session: its state machine says what is legal,
its script says what happens.  ``commit``, ``rollback`` and ``close`` are
scripted steps; the implicit ``BEGIN`` before a DML statement and the
transaction statements the code sends itself (``BEGIN``, ``COMMIT``,
``SAVEPOINT``...) move the state with unscripted steps, as SQLite would.
The session and that bookkeeping live on the ``Handle`` (``_handle.py``)
that the connection shares with its cursors.
"""

from __future__ import annotations

import sqlite3
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

from tripwire_core import NOTHING, NotSupportedError, RefusalError, Session

from ._handle import Handle
from ._native import (
    CHECKS_CLOSED_ENTER,
    CHECKS_CLOSED_SETTER,
    UPPERCASES_ISOLATION_LEVEL,
    isolation_level_error,
)
from .cursor import Cursor, unsupported, unsupported_row_factory

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
    """*value* as sqlite3 stores it, or the TypeError/ValueError sqlite3 raises."""
    if value is None:
        return None
    if isinstance(value, str):
        upper = value.upper()
        if upper in _ISOLATION_LEVELS:
            # sqlite3 stores the upper-cased level from 3.11, the text as given before.
            return upper if UPPERCASES_ISOLATION_LEVEL else value
    # Refused: the real sqlite3 words it (its text changed in 3.11).
    raise isolation_level_error(value)


class Connection:
    """A scripted stand-in for ``sqlite3.Connection``."""

    # Everything but the API lives on the handle its cursors share.
    __slots__ = ("_handle",)

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
        self._handle = Handle(
            session, isolation_level=isolation_level, check_same_thread=check_same_thread
        )

    def __repr__(self) -> str:
        session = self._handle.session
        return f"<tripwire sqlite3 Connection {session.label} state={session.state}>"

    # Statements: through a new cursor, as sqlite3 does.

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        """Run one statement on a new cursor and return the cursor."""
        return Cursor(self, self._handle).execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Cursor:
        """Run one statement per parameter set on a new cursor."""
        return Cursor(self, self._handle).executemany(sql, parameters)

    def cursor(self, factory: Any = NOTHING) -> Cursor:
        """A new cursor (not a step: it sends nothing to the database)."""
        handle = self._handle
        handle.check_thread()
        handle.session.check("cursor", _NO_FIELDS)
        if factory is not NOTHING and factory is not sqlite3.Cursor:
            raise handle.session.plugin.refuse(
                NotSupportedError,
                f"cursor(factory={factory!r}) is not supported by tripwire's sqlite3 fake: "
                "it returns its own cursors.",
            )
        return Cursor(self, handle)

    # Transactions

    def commit(self) -> None:
        """The session's next ``commit`` step (a no-op in sqlite3 outside a transaction)."""
        self._handle.end("commit")

    def rollback(self) -> None:
        """The session's next ``rollback`` step (a no-op outside a transaction)."""
        self._handle.end("rollback")

    def close(self) -> None:
        """The session's next ``close`` step; closing twice is a no-op, as in sqlite3."""
        handle = self._handle
        handle.check_thread()
        if handle.session.state != "closed":
            handle.end("close")

    def __enter__(self) -> Self:
        # Up to 3.10 sqlite3 does not check the connection here.
        if CHECKS_CLOSED_ENTER:
            self._handle.session.check("inspect", _NO_FIELDS)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        # Commits on success, rolls back on an exception; never closes.
        handle = self._handle
        handle.session.check("inspect", _NO_FIELDS)
        if exc_type is not None:
            handle.end("rollback")
            return False
        try:
            handle.end("commit")
        except RefusalError:
            raise
        except BaseException:
            # sqlite3 rolls back a failed commit so the database is not left
            # locked; a failing rollback is chained to the commit's error.
            handle.end("rollback")
            raise
        return False

    # Attributes

    @property
    def in_transaction(self) -> bool:
        session = self._handle.session
        session.check("inspect", _NO_FIELDS)
        return session.state == "in_transaction"

    @property
    def isolation_level(self) -> str | None:
        self._handle.session.check("inspect", _NO_FIELDS)
        return self._handle.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        level = check_isolation_level(value)
        handle = self._handle
        handle.set_isolation_level(level)
        if level is None:
            # sqlite3 commits an open transaction to enter autocommit mode:
            # a real COMMIT, so it is the script's next "commit" step.
            handle.check_thread()
            if CHECKS_CLOSED_SETTER:
                handle.session.check("inspect", _NO_FIELDS)
            if handle.session.state == "in_transaction":
                handle.end("commit")

    @property
    def total_changes(self) -> int:
        """Rows changed since connecting: the sum of the scripted rowcounts."""
        self._handle.session.check("inspect", _NO_FIELDS)
        return self._handle.total_changes()

    @property
    def row_factory(self) -> None:
        return None

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        if value is not None:
            raise unsupported_row_factory(self._handle.session, "Connection")

    @property
    def text_factory(self) -> type[str]:
        return str

    @text_factory.setter
    def text_factory(self, value: Any) -> None:
        if value is not str:
            raise self._handle.session.plugin.refuse(
                NotSupportedError,
                f"text_factory={value!r} is not supported by tripwire's sqlite3 fake: "
                "rows are returned exactly as scripted.",
            )

    def __getattr__(self, name: str) -> Any:
        return unsupported(self._handle.session, sqlite3.Connection, name, SUPPORTED)
