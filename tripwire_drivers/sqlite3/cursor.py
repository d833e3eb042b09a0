"""The fake ``sqlite3.Cursor``: runs statements through the session, serves rows.

``execute``/``executemany`` are the scripted steps (``Connection.execute``
goes through a new cursor, as in sqlite3).  The rows a step returns are then
served locally by ``fetchone``/``fetchmany``/``fetchall`` and iteration,
without further steps.
"""

from __future__ import annotations

import functools
import operator
import sqlite3
from collections.abc import Iterator, Sequence
from itertools import islice
from threading import get_ident
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn

from tripwire_core import (
    NOTHING,
    ClientCheckError,
    InvalidStateError,
    NotSupportedError,
    RefusalError,
    Session,
    UnmockedInteractionError,
)

from ._bindings import bind
from ._native import MULTIPLE_STATEMENTS, NO_ROWS_IN_EXECUTEMANY
from ._statements import Statement, analyse
from .result import UNSCRIPTED, Result

if TYPE_CHECKING:
    from ._handle import Handle
    from .connection import Connection

__all__ = ["SUPPORTED", "Cursor", "unsupported", "unsupported_row_factory"]

SUPPORTED = (
    "execute",
    "executemany",
    "fetchone",
    "fetchmany",
    "fetchall",
    "close",
    "iteration",
    "rowcount",
    "lastrowid",
    "description",
    "arraysize",
    "connection",
    "setinputsizes",
    "setoutputsize",
)

_NO_FIELDS: Any = MappingProxyType({})
_NO_ROWS: Iterator[tuple[Any, ...]] = iter(())


class Cursor:
    """A scripted stand-in for ``sqlite3.Cursor``."""

    __slots__ = (
        "_arraysize",
        "_closed",
        "_connection",
        "_description",
        "_handle",
        "_last",
        "_lastrowid",
        "_lastrowid_from",
        "_rowcount",
        "_rows",
    )

    def __init__(self, connection: Connection, handle: Handle) -> None:
        # *handle* is the connection's: the session and what SQLite tracks
        # per connection (transaction, total_changes, last rowid).
        self._connection = connection
        self._handle = handle
        self._closed = False
        self._arraysize = 1
        self._rows: Iterator[tuple[Any, ...]] = _NO_ROWS
        self._rowcount: Any = -1
        self._lastrowid: Any = None
        self._description: Any = None
        self._last: tuple[str, str] = ("", "")
        self._lastrowid_from: tuple[str, str] = ("", "")

    def __repr__(self) -> str:
        return f"<tripwire sqlite3 Cursor of {self._handle.session.label}>"

    # Statements

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor:
        """Run one statement: the session's next ``execute`` step."""
        if type(sql) is not str and not isinstance(sql, str):
            raise TypeError(f"execute() argument 1 must be str, not {type(sql).__name__}")
        self._check_cursor()
        statement = analyse(sql)
        if statement.multiple:
            self._refuse_statement("execute", sql, parameters, "one")
        handle = self._handle
        if statement.dml and handle.legacy:
            handle.implicit_begin()
        recorded, problem = bind(statement, parameters)
        if problem is not None:
            self._refuse_binding("execute", sql, recorded, problem)
        fields = {"sql": sql, "parameters": recorded}
        if statement.control is not None:
            handle.check_control(statement, "execute", fields)
        self._run("execute", sql, statement, fields)
        return self

    def executemany(self, sql: str, parameters: Any, /) -> Cursor:
        """Run one statement per parameter set: the next ``executemany`` step."""
        if type(sql) is not str and not isinstance(sql, str):
            raise TypeError(f"executemany() argument 1 must be str, not {type(sql).__name__}")
        self._check_cursor()
        try:
            sets = list(parameters)
        except TypeError:
            self._reset()
            raise
        statement = analyse(sql)
        if statement.multiple:
            self._refuse_statement("executemany", sql, sets, "one")
        if statement.readonly and not NO_ROWS_IN_EXECUTEMANY:
            self._refuse_statement("executemany", sql, sets, "dml")
        handle = self._handle
        if statement.dml and handle.legacy:
            handle.implicit_begin()
        recorded = []
        for parameter_set in sets:
            bound, problem = bind(statement, parameter_set)
            if problem is not None:
                self._refuse_binding("executemany", sql, sets, problem)
            if NO_ROWS_IN_EXECUTEMANY and statement.query:
                # Up to 3.10 sqlite3 runs the first set and refuses the row it
                # returns; a query is taken to return one.
                self._refuse_statement("executemany", sql, sets, "dml")
            recorded.append(bound)
        self._run("executemany", sql, statement, {"sql": sql, "parameters": recorded})
        return self

    def _run(self, step: str, sql: str, statement: Statement, fields: dict[str, Any]) -> None:
        handle = self._handle
        try:
            result: Result = handle.session.call(step, fields)
        except RefusalError:
            raise
        except BaseException:
            # The statement ran and failed: sqlite3 has already reset the cursor.
            self._reset()
            raise
        if statement.control is not None:
            handle.apply_control(statement)
        # Kept unformatted: the text is only built if a refusal needs it.
        last = self._last = (step, sql)
        self._rows = iter(result.rows)
        rowcount = result.rowcount
        if rowcount is None:
            rowcount = UNSCRIPTED if statement.dml else -1
        self._rowcount = rowcount
        if statement.writes:
            handle.count_changes(rowcount, last)
        if statement.inserts or result.lastrowid is not None:
            handle.note_insert(statement, result.lastrowid, last)
        # executemany() moves the connection's last rowid, not the cursor's.
        if step == "execute":
            self._lastrowid = handle.last_rowid
            self._lastrowid_from = handle.last_rowid_from
        if result.columns is not None:
            self._description = result.description
        elif result.rows or statement.query:
            self._description = UNSCRIPTED
        else:
            self._description = None

    # Rows

    def fetchone(self) -> Any:
        """The next scripted row, or ``None`` when they are used up."""
        self._check_fetch()
        return next(self._rows, None)

    def fetchmany(self, size: Any = NOTHING) -> list[Any]:
        """Up to *size* rows (``arraysize`` by default; 0 or less: all of them)."""
        count = self._arraysize if size is NOTHING else operator.index(size)
        self._check_fetch()
        return list(islice(self._rows, count)) if count > 0 else list(self._rows)

    def fetchall(self) -> list[Any]:
        """Every row not fetched yet."""
        self._check_fetch()
        return list(self._rows)

    def __iter__(self) -> Cursor:
        return self

    def __next__(self) -> Any:
        self._check_fetch()
        return next(self._rows)

    def close(self) -> None:
        """Close the cursor; sqlite3 refuses this on a closed connection."""
        handle = self._handle
        handle.check_thread()
        handle.session.check("fetch", _NO_FIELDS)
        self._closed = True
        self._rows = _NO_ROWS

    def setinputsizes(self, sizes: Any, /) -> None:
        """Required by the DB-API; does nothing, as in sqlite3."""

    def setoutputsize(self, size: Any, column: Any = None, /) -> None:
        """Required by the DB-API; does nothing, as in sqlite3."""

    # Attributes

    @property
    def connection(self) -> Connection:
        return self._connection

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: Any) -> None:
        self._arraysize = operator.index(value)

    @property
    def rowcount(self) -> int:
        """Rows changed by the last DML statement; -1 for other statements."""
        if self._rowcount is UNSCRIPTED:
            raise self._unscripted("rowcount", "rowcount=1")
        value: int = self._rowcount
        return value

    @property
    def lastrowid(self) -> int | None:
        """The connection's last inserted rowid, as of the last ``execute``."""
        if self._lastrowid is UNSCRIPTED:
            raise self._unscripted("lastrowid", "lastrowid=1", self._lastrowid_from)
        value: int | None = self._lastrowid
        return value

    @property
    def description(self) -> tuple[tuple[Any, ...], ...] | None:
        """Column names of the last statement's rows (from scripted ``columns``)."""
        if self._description is UNSCRIPTED:
            raise self._unscripted("description", "columns=['id', 'name']")
        value: tuple[tuple[Any, ...], ...] | None = self._description
        return value

    @property
    def row_factory(self) -> None:
        return None

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        if value is not None:
            raise unsupported_row_factory(self._handle.session, "Cursor")

    def __getattr__(self, name: str) -> Any:
        return unsupported(self._handle.session, sqlite3.Cursor, name, SUPPORTED)

    # Checks, in sqlite3's order: closed cursor, thread, closed connection.

    def _check_cursor(self) -> None:
        # The connection itself is checked by the session when the step runs;
        # a refusal found before that checks it first (see _refuse_*).
        if self._closed:
            self._refuse_closed()
        handle = self._handle
        thread = handle.thread
        if thread is not None and thread != get_ident():
            handle.check_thread()

    def _check_fetch(self) -> None:
        if self._closed:
            self._refuse_closed()
        handle = self._handle
        thread = handle.thread
        if thread is not None and thread != get_ident():
            handle.check_thread()
        handle.session.check("fetch", _NO_FIELDS)

    def _reset(self) -> None:
        self._rows = _NO_ROWS
        self._rowcount = -1
        self._description = None

    def _refuse_closed(self) -> None:
        session = self._handle.session
        raise session.plugin.refuse(
            InvalidStateError,
            "Cannot operate on a closed cursor.",
            native=sqlite3.ProgrammingError,
            note=f"{session.label}: the code closed this cursor, then used it again.",
        )

    def _refuse_statement(self, step: str, sql: str, parameters: Any, why: str) -> None:
        session = self._handle.session
        session.check(step, {"sql": sql, "parameters": parameters})
        self._reset()
        message = (
            "You can only execute one statement at a time."
            if why == "one"
            else "executemany() can only execute DML statements."
        )
        raise session.plugin.refuse(
            ClientCheckError,
            message,
            native=MULTIPLE_STATEMENTS if why == "one" else sqlite3.ProgrammingError,
            note=f"{session.label}: {step}({sql!r}) refused before reaching the script: "
            "sqlite3 refuses it without running it.",
        )

    def _refuse_binding(
        self, step: str, sql: str, parameters: Any, problem: tuple[type[BaseException], str]
    ) -> None:
        session = self._handle.session
        session.check(step, {"sql": sql, "parameters": parameters})
        self._reset()
        native, message = problem
        raise session.plugin.refuse(
            ClientCheckError,
            message,
            native=native,
            note=f"{session.label}: {step}({sql!r}) with parameters {parameters!r} refused "
            "before reaching the script: sqlite3 refuses to bind them.",
        )

    def _unscripted(
        self, attribute: str, example: str, culprit: tuple[str, str] | None = None
    ) -> RefusalError:
        # lastrowid is the connection's: the statement that left it unknown
        # may be an earlier insert than the cursor's own last statement.
        session = self._handle.session
        step, sql = culprit or self._last
        return session.plugin.refuse(
            UnmockedInteractionError,
            f"{session.label}: Cursor.{attribute} was read, but the script of {step}({sql!r}) "
            f"does not give it.\nScript it there: returns=tripwire.sqlite3.Result("
            f"rows=[...], {example})",
        )


def unsupported(session: Session, real: type, name: str, supported: Sequence[str]) -> Any:
    """What the fake gives for an attribute of *real* that it does not implement.

    A method exists, as on sqlite3 (``hasattr`` stays true), and calling it
    is refused by name; any other attribute is refused when read.  Never a
    silent mock.
    """
    attribute = getattr(real, name, None) if not name.startswith("_") else None
    if attribute is None:
        raise AttributeError(f"'sqlite3.{real.__name__}' object has no attribute {name!r}")
    what = f"sqlite3.{real.__name__}.{name}{'()' if callable(attribute) else ''}"
    if not callable(attribute):
        _refuse_unsupported(session, what, supported)
    return functools.partial(_refuse_unsupported, session, what, supported)


def unsupported_row_factory(session: Session, owner: str) -> RefusalError:
    """The refusal of a ``row_factory`` other than ``None`` on *owner*."""
    return session.plugin.refuse(
        NotSupportedError,
        f"{owner}.row_factory is not supported by tripwire's sqlite3 fake: rows are "
        "tuples, as scripted (sqlite3.Row needs a real cursor).",
    )


def _refuse_unsupported(
    session: Session, what: str, supported: Sequence[str], *args: Any, **kwargs: Any
) -> NoReturn:
    raise session.plugin.refuse(
        NotSupportedError,
        f"{what} is not supported by tripwire's sqlite3 fake; tripwire refuses it rather "
        f"than return a silent mock.\nSupported: {', '.join(supported)}.",
    )
