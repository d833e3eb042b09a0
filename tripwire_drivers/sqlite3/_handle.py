"""What a fake connection and its cursors share: the database handle.

In sqlite3 a ``Connection`` and every ``Cursor`` made from it work on one
SQLite handle, which knows whether a transaction is open, its savepoints,
``total_changes`` and the last inserted rowid.  :class:`Handle` plays that
part for the fake: it owns the session, the owning thread, the legacy
transaction flag, and the bookkeeping of each statement.  Package-internal:
the public names here are for ``Connection`` and ``Cursor`` only.
"""

from __future__ import annotations

import sqlite3
from threading import get_ident
from types import MappingProxyType
from typing import Any

from tripwire_core import (
    ClientCheckError,
    InvalidStateError,
    Session,
    UnmockedInteractionError,
)

from ._statements import Statement
from .result import UNSCRIPTED

__all__ = ["Handle"]

_NO_FIELDS: Any = MappingProxyType({})


class Handle:
    """The session of one fake connection and what SQLite tracks beside it.

    ``session``, ``thread`` (``None`` without ``check_same_thread``),
    ``isolation_level``, ``legacy`` (sqlite3 sends the implicit ``BEGIN``),
    ``last_rowid`` and ``last_rowid_from`` (the ``(step, sql)`` that left it
    unscripted) are read directly, on the per-call path; everything else
    changes through the methods.
    """

    __slots__ = (
        "_changes",
        "_changes_from",
        "_savepoints",
        "isolation_level",
        "last_rowid",
        "last_rowid_from",
        "legacy",
        "session",
        "thread",
    )

    def __init__(
        self, session: Session, *, isolation_level: str | None, check_same_thread: bool
    ) -> None:
        self.session = session
        self.isolation_level = isolation_level
        self.legacy = isolation_level is not None
        self.thread = get_ident() if check_same_thread else None
        self.last_rowid: Any = 0
        self.last_rowid_from = ("", "")
        self._savepoints: list[tuple[str, bool]] = []
        self._changes: Any = 0
        self._changes_from = ("", "")

    def set_isolation_level(self, level: str | None) -> None:
        """Store an isolation level that ``check_isolation_level`` accepted."""
        self.isolation_level = level
        self.legacy = level is not None

    def check_thread(self) -> None:
        """sqlite3's refusal of a call from another thread than the owner."""
        thread = self.thread
        if thread is not None and thread != get_ident():
            raise self.session.plugin.refuse(
                ClientCheckError,
                "SQLite objects created in a thread can only be used in that same thread. "
                f"The object was created in thread id {thread} and this is thread id "
                f"{get_ident()}.",
                native=sqlite3.ProgrammingError,
                note=f"{self.session.label} was connected with check_same_thread=True; pass "
                "check_same_thread=False to connect() to share the connection.",
            )

    def end(self, step: str) -> None:
        """The scripted ``commit``, ``rollback`` or ``close`` step."""
        self.check_thread()
        # A scripted failure leaves the state alone, so a COMMIT that fails
        # keeps the transaction open, as in SQLite.
        self.session.call(step, _NO_FIELDS)
        self._savepoints.clear()

    def implicit_begin(self) -> None:
        """Open a transaction before a DML statement, if none is open."""
        # sqlite3 sends BEGIN before a DML statement when no transaction is
        # open, before it binds the parameters.
        if self.session.state == "idle":
            self.session.transition("begin")

    def check_control(self, statement: Statement, step: str, fields: dict[str, Any]) -> None:
        """Refuse a transaction statement SQLite would fail in this state."""
        assert statement.control is not None
        action, name = statement.control
        session = self.session
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

    def apply_control(self, statement: Statement) -> None:
        """Move the state after a transaction statement the code sent itself."""
        assert statement.control is not None
        action, name = statement.control
        session = self.session
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

    def count_changes(self, rowcount: Any, culprit: tuple[str, str]) -> None:
        """Add the rows a statement that writes changed to ``total_changes``."""
        if self._changes is UNSCRIPTED:
            return
        if rowcount is UNSCRIPTED or rowcount < 0:
            self._changes = UNSCRIPTED
            self._changes_from = culprit
        else:
            self._changes += rowcount

    def note_insert(
        self, statement: Statement, lastrowid: int | None, culprit: tuple[str, str]
    ) -> None:
        """Move the last inserted rowid after *statement*."""
        if lastrowid is not None:
            self.last_rowid = lastrowid
        elif statement.inserts:
            self.last_rowid = UNSCRIPTED
            self.last_rowid_from = culprit

    def total_changes(self) -> int:
        """Rows changed since connecting, or the refusal if a step did not say."""
        if self._changes is UNSCRIPTED:
            session = self.session
            step, sql = self._changes_from
            raise session.plugin.refuse(
                UnmockedInteractionError,
                f"{session.label}: Connection.total_changes was read, but the script of "
                f"{step}({sql!r}) does not say how many rows it changed.\n"
                "Script it there: returns=tripwire.sqlite3.Result(rows=[], rowcount=1)",
            )
        value: int = self._changes
        return value

    def _find(self, name: str) -> int:
        key = _key(name)
        for index in range(len(self._savepoints) - 1, -1, -1):
            if self._savepoints[index][0] == key:
                return index
        return -1


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] in "\"'`" and name[-1] == name[0]:
        return name[1:-1].replace(name[0] * 2, name[0])
    if len(name) >= 2 and name[0] == "[" and name[-1] == "]":
        return name[1:-1]
    return name


def _key(name: str) -> str:
    # SQLite compares savepoint names without regard to ASCII case.
    return _unquote(name).lower()
