"""Cursors: ``conn.cursor()``, iterated with ``async for`` or awaited.

A cursor is one scripted interaction, the step ``cursor``, taken when the
cursor opens (the first ``__anext__``, or the ``await``); its ``returns``
is every row the cursor yields.  The rows are then served locally.  A real
cursor fetches them in chunks, one round trip each; the fake does not
script or record those, but it makes asyncpg's checks at the points where
asyncpg would go back to the server (the connection still open, the
transaction still there), so a cursor used after ``COMMIT`` fails where the
real one does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import asyncpg
import asyncpg.cursor

from tripwire_core import (
    NOTHING,
    ClientCheckError,
    InvalidStateError,
    NativeErrors,
    NotSupportedError,
    RefusalError,
    Session,
    Step,
)

from ._assertions import Assertions
from ._checks import bad_query, check_record_class, refuse_arguments
from ._query import parameter_count
from ._steps import given
from .records import to_records, with_record_class

if TYPE_CHECKING:
    from .connection import Connection
    from .prepared import PreparedStatement

__all__ = [
    "CURSOR_ERRORS",
    "CURSOR_STEPS",
    "Cursor",
    "CursorAssertions",
    "CursorFactory",
    "CursorIterator",
    "CursorMethods",
    "guard",
    "raw_timeout",
    "refuse_unimplemented",
]

CURSOR_STEPS = (
    Step("cursor", "in_transaction", None, ("query", "args"), to_records, "a list of dicts (rows)"),
)

CURSOR_ERRORS: NativeErrors = {
    ("connected", "cursor"): (
        asyncpg.NoActiveSQLTransactionError,
        "cursor cannot be created outside of a transaction",
    ),
}

# asyncpg passes row counts to the protocol as a C int.
_INT32_MAX = 2**31 - 1


def guard(session: Session, owner: str, method: str) -> None:
    """asyncpg's check before any method of a statement or cursor runs.

    It runs at call time, before a coroutine exists, as asyncpg's
    ``connresource.guarded`` wrapper does.
    """
    session.check_sandbox(f"{owner}.{method}")
    state = session.state
    if state == "closed" or state == "released":
        why = "is closed" if state == "closed" else "has been released back to the pool"
        raise session.plugin.refuse(
            InvalidStateError,
            f"cannot call {owner}.{method}(): the underlying connection {why}",
            native=asyncpg.InterfaceError,
            note=f"{session.label} is in state {state!r}; the {owner} came from it.",
        )


def raw_timeout(timeout: Any) -> None:
    """Raise as asyncpg's protocol does for a ``timeout=`` passed straight to it.

    Statements and cursors skip the connection's friendlier check, so a
    ``'x'`` fails in ``float()`` itself.
    """
    if timeout is not None and float(timeout) <= 0:
        raise asyncio.TimeoutError


def _query_timeout(timeout: Any) -> None:
    # The check of asyncpg's simple-query path (Cursor.forward sends MOVE).
    if timeout is None:
        return
    try:
        if type(timeout) is bool:
            raise ValueError
        seconds = float(timeout)
    except ValueError:
        raise ValueError(
            f"invalid timeout value: expected non-negative float (got {timeout!r})"
        ) from None
    if seconds <= 0:
        raise asyncio.TimeoutError


def _limit(count: Any) -> int:
    # asyncpg hands the count to the protocol as a C int: floats truncate,
    # and 0 (from 0 < count < 1) means "all rows".
    limit = int(count)
    if limit > _INT32_MAX:
        raise OverflowError("value too large to convert to int")
    return limit


def _client_error(session: Session, message: str, note: str) -> RefusalError:
    return session.plugin.refuse(
        ClientCheckError, message, native=asyncpg.InterfaceError, note=note
    )


def refuse_unimplemented(fake: type, real: type) -> None:
    """Give *fake* a refusing stand-in for each public method of *real* it lacks.

    The fakes subclass asyncpg's classes (so ``isinstance`` holds); without
    this, a method added by a newer asyncpg would run asyncpg's own code on
    a fake object.
    """
    own = {name for cls in fake.__mro__ if cls not in real.__mro__ for name in vars(cls)}
    for name in dir(real):
        if not name.startswith("_") and name not in own:
            setattr(fake, name, _unsupported(real.__name__, name))


def _unsupported(owner: str, name: str) -> Any:
    def refused(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise self._session.plugin.refuse(
            NotSupportedError,
            f"asyncpg {owner}.{name}() is not supported by tripwire's asyncpg fake; "
            "tripwire refuses it rather than return a silent mock.",
        )

    refused.__name__ = name
    return refused


class CursorFactory(asyncpg.cursor.CursorFactory):  # type: ignore[misc]
    """What ``conn.cursor()`` and ``PreparedStatement.cursor()`` return.

    Each ``async for`` over it, and each ``await`` of it, opens a new
    cursor: one ``cursor`` step.
    """

    __slots__ = (
        "_args",
        "_connection",
        "_fields",
        "_prefetch",
        "_query",
        "_record_class",
        "_rows_class",
        "_session",
        "_statement",
        "_timeout",
    )

    _connection: Connection
    _fields: dict[str, Any]
    _rows_class: type[Any] | None
    _session: Session
    _statement: PreparedStatement | None

    def __init__(
        self,
        connection: Connection,
        query: Any,
        args: tuple[Any, ...],
        prefetch: Any,
        timeout: Any,
        record_class: Any,
        statement: PreparedStatement | None = None,
    ) -> None:
        # asyncpg's __init__ is not called: it needs a real connection.
        self._connection = connection
        self._session = connection._session
        self._query = query
        self._args = args
        self._prefetch = prefetch
        self._timeout = timeout
        self._record_class = record_class
        self._statement = statement
        # A statement's rows have its class; else record_class=, else the connection's.
        self._rows_class = (
            statement._record_class
            if statement is not None
            else record_class or connection._record_class
        )
        fields: dict[str, Any] = {"query": query, "args": list(args)}
        if prefetch is not None:
            fields["prefetch"] = prefetch
        if timeout is not None:
            fields["timeout"] = timeout
        if record_class is not None:
            fields["record_class"] = record_class
        if statement is not None:
            fields["prepared"] = True
        self._fields = fields

    def __repr__(self) -> str:
        return f"<tripwire asyncpg CursorFactory {self._query!r} {self._session.label}>"

    def __del__(self) -> None:
        pass

    def __aiter__(self) -> CursorIterator:
        guard(self._session, "CursorFactory", "__aiter__")
        prefetch = 50 if self._prefetch is None else self._prefetch
        if prefetch <= 0:
            raise _client_error(
                self._session,
                "prefetch argument must be greater than zero",
                f"{self._session.label}: cursor(prefetch={prefetch!r}) refused when iterated.",
            )
        return CursorIterator(self, prefetch)

    def __await__(self) -> Generator[Any, None, Cursor]:
        guard(self._session, "CursorFactory", "__await__")
        if self._prefetch is not None:
            raise _client_error(
                self._session,
                "prefetch argument can only be specified for iterable cursor",
                f"{self._session.label}: `await conn.cursor(..., prefetch=...)` refused; "
                "prefetch applies to `async for` only.",
            )
        return self._open_cursor().__await__()

    async def _open_cursor(self) -> Cursor:
        return Cursor(self, self._open())

    def _open(self) -> list[Any]:
        """The checks asyncpg makes when a cursor opens, then the ``cursor`` step."""
        session = self._session
        fields = self._fields
        query = self._query
        if self._record_class is not None:
            check_record_class(session, "cursor", self._record_class, fields)
        if query.__class__ is not str:
            bad_query(session, "cursor", query, False, fields)
        if self._timeout is not None:
            try:
                raw_timeout(self._timeout)
            except BaseException:
                session.check("cursor", fields)
                raise
        if parameter_count(query) != len(self._args):
            refuse_arguments(session, "cursor", query, self._args, fields)
        rows: list[Any] = self._connection._call("cursor", fields)
        if self._statement is not None:
            self._statement._check_rows("cursor", rows)
        return with_record_class(rows, self._rows_class)

    def _ready(self) -> None:
        # asyncpg's Cursor._check_ready before each round trip: the
        # transaction must still be there (it refuses as the step would).
        if self._session.state != "in_transaction":
            self._session.check("cursor", self._fields)


class _Rows:
    """Where a cursor stands in its scripted rows (the server's position)."""

    __slots__ = ("position", "rows")

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows
        self.position = 0

    def take(self, limit: int) -> list[Any]:
        start = self.position
        chunk = self.rows[start:] if limit == 0 else self.rows[start : start + limit]
        self.position = start + len(chunk)
        return chunk


def _cursor_repr(kind: str, query: Any, exhausted: bool, address: int) -> str:
    # asyncpg's BaseCursor.__repr__, module shown as "asyncpg".
    return f'<asyncpg.{kind} "{query!s:.30}" {"exhausted " if exhausted else ""}{address:#x}>'


class CursorIterator(asyncpg.cursor.CursorIterator):  # type: ignore[misc]
    """What ``async for`` iterates: the rows of one ``cursor`` step."""

    __slots__ = (
        "_buffer",
        "_exhausted",
        "_factory",
        "_open_portal",
        "_prefetch",
        "_query",
        "_rows",
        "_session",
    )

    _factory: CursorFactory
    _rows: _Rows | None
    _session: Session

    def __init__(self, factory: CursorFactory, prefetch: Any) -> None:
        self._factory = factory
        self._session = factory._session
        self._query = factory._query
        self._prefetch = prefetch
        self._buffer: deque[Any] = deque()
        self._rows = None
        self._exhausted = False
        self._open_portal = False

    def __repr__(self) -> str:
        return _cursor_repr("CursorIterator", self._query, self._exhausted, id(self))

    def __del__(self) -> None:
        pass

    def __aiter__(self) -> CursorIterator:
        guard(self._session, "CursorIterator", "__aiter__")
        return self

    def __anext__(self) -> Any:
        guard(self._session, "CursorIterator", "__anext__")
        return self._next()

    async def _next(self) -> Any:
        # asyncpg's CursorIterator.__anext__, with each round trip served
        # from the scripted rows.
        factory = self._factory
        if self._rows is None:
            limit = _limit(self._prefetch)
            self._rows = _Rows(factory._open())
            self._open_portal = True
            self._fill(limit)
        elif not self._buffer and not self._exhausted:
            factory._ready()
            self._fill(_limit(self._prefetch))
        if self._open_portal and self._exhausted:
            factory._ready()
            self._open_portal = False
        if self._buffer:
            return self._buffer.popleft()
        raise StopAsyncIteration

    def _fill(self, limit: int) -> None:
        assert self._rows is not None
        chunk = self._rows.take(limit)
        self._buffer.extend(chunk)
        self._exhausted = limit == 0 or len(chunk) < limit


class Cursor(asyncpg.cursor.Cursor):  # type: ignore[misc]
    """What ``await conn.cursor(...)`` returns: reads the scripted rows on demand.

    ``fetch``, ``fetchrow`` and ``forward`` are not recorded: they read the
    rows of the ``cursor`` step, which the test asserts once.
    """

    __slots__ = ("_exhausted", "_factory", "_query", "_rows", "_session")

    _factory: CursorFactory
    _rows: _Rows
    _session: Session

    def __init__(self, factory: CursorFactory, rows: list[Any]) -> None:
        self._factory = factory
        self._session = factory._session
        self._query = factory._query
        self._rows = _Rows(rows)
        self._exhausted = False

    def __repr__(self) -> str:
        return _cursor_repr("Cursor", self._query, self._exhausted, id(self))

    def __del__(self) -> None:
        pass

    def fetch(self, n: Any, *, timeout: Any = None) -> Any:
        """Return the next *n* rows (``[]`` once exhausted)."""
        guard(self._session, "Cursor", "fetch")
        return self._fetch(n, timeout)

    async def _fetch(self, n: Any, timeout: Any) -> list[Any]:
        self._factory._ready()
        if n <= 0:
            raise self._bad_count("fetch", n)
        if self._exhausted:
            return []
        limit = _limit(n)
        raw_timeout(timeout)
        rows = self._rows.take(limit)
        # The portal completes when it runs out of rows within the limit
        # (0 means no limit); asyncpg also calls a short chunk the end.
        if limit == 0 or len(rows) < n:
            self._exhausted = True
        return rows

    def fetchrow(self, *, timeout: Any = None) -> Any:
        """Return the next row, or ``None`` once exhausted."""
        guard(self._session, "Cursor", "fetchrow")
        return self._fetchrow(timeout)

    async def _fetchrow(self, timeout: Any) -> Any:
        self._factory._ready()
        if self._exhausted:
            return None
        raw_timeout(timeout)
        rows = self._rows.take(1)
        if not rows:
            self._exhausted = True
            return None
        return rows[0]

    def forward(self, n: Any, *, timeout: Any = None) -> Any:
        """Skip the next *n* rows; return how many were skipped."""
        guard(self._session, "Cursor", "forward")
        return self._forward(n, timeout)

    async def _forward(self, n: Any, timeout: Any) -> int:
        self._factory._ready()
        if n <= 0:
            raise self._bad_count("forward", n)
        # asyncpg formats MOVE FORWARD {n:d}, which refuses a float.
        _ = f"MOVE FORWARD {n:d}"
        _query_timeout(timeout)
        # MOVE moves the server's position even after asyncpg marked the
        # cursor exhausted.
        rows = self._rows
        advanced = min(int(n), len(rows.rows) - rows.position)
        rows.position += advanced
        if advanced < n:
            self._exhausted = True
        return advanced

    def _bad_count(self, method: str, n: Any) -> RefusalError:
        return _client_error(
            self._session,
            "n must be greater than zero",
            f"{self._session.label}: Cursor.{method}({n!r}) refused before reaching the script.",
        )


refuse_unimplemented(CursorFactory, asyncpg.cursor.CursorFactory)
refuse_unimplemented(CursorIterator, asyncpg.cursor.CursorIterator)
refuse_unimplemented(Cursor, asyncpg.cursor.Cursor)


class CursorMethods:
    """``cursor()`` for the fake connection."""

    _session: Session

    def cursor(
        self,
        query: str,
        *args: Any,
        prefetch: int | None = None,
        timeout: float | None = None,
        record_class: type[Any] | None = None,
    ) -> CursorFactory:
        """A cursor factory; nothing is sent until it is iterated or awaited."""
        session = self._session
        session.check_sandbox("cursor")
        state = session.state
        if state == "closed" or state == "released":
            # asyncpg's _check_open runs here, at call time.
            raise session.plugin.refuse(
                InvalidStateError,
                f"{session.label} is in state {state!r}: cursor() is not allowed there.",
                state=state,
                step="cursor",
            )
        return CursorFactory(
            self,  # type: ignore[arg-type]
            query,
            args,
            prefetch,
            timeout,
            record_class,
        )


CursorMethods.cursor.__qualname__ = "Connection.cursor"


class CursorAssertions(Assertions):
    """Typed ``assert_*`` helpers for cursors."""

    def assert_cursor(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``cursor`` opened (``async for`` or ``await``).

        Also name ``prefetch``/``timeout``/``record_class`` if the code
        passed them, and ``prepared=True`` for a statement's cursor.
        """
        __tracebackhide__ = True
        self.assert_step("cursor", **given(query=query, args=args, **extra))
