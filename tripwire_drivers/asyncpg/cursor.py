"""Cursors: ``conn.cursor()``, iterated with ``async for`` or awaited.

A cursor is one scripted interaction, the step ``cursor``, taken when the
cursor opens (the first ``__anext__``, or the ``await``); its ``returns``
is every row the cursor yields.  The rows are then served locally.  A real
cursor fetches them in chunks, one round trip each; the fake does not
script or record those, but it makes asyncpg's checks at the points where
asyncpg would go back to the server (the connection still open, the
transaction still there), so a cursor used after ``COMMIT`` fails where the
real one does.  What opens a cursor, and its rows, are in :mod:`.portal`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import asyncpg
import asyncpg.cursor

from tripwire_core import (
    NOTHING,
    ClientCheckError,
    InvalidStateError,
    NativeErrors,
    RefusalError,
    Session,
    Step,
)

from ._assertions import Assertions
from ._query import check_timeout
from ._resource import guard, raw_timeout, refuse_unimplemented
from ._steps import given
from .portal import CursorQuery, Portal, fetch_limit
from .records import to_records

if TYPE_CHECKING:
    from .connection import Connection

__all__ = [
    "CURSOR_ERRORS",
    "CURSOR_STEPS",
    "Cursor",
    "CursorAssertions",
    "CursorFactory",
    "CursorIterator",
    "CursorMethods",
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


def _client_error(session: Session, message: str, note: str) -> RefusalError:
    return session.plugin.refuse(
        ClientCheckError, message, native=asyncpg.InterfaceError, note=note
    )


class CursorFactory(asyncpg.cursor.CursorFactory):  # type: ignore[misc]
    """What ``conn.cursor()`` and ``PreparedStatement.cursor()`` return.

    Each ``async for`` over it, and each ``await`` of it, opens a new
    cursor: one ``cursor`` step.
    """

    __slots__ = ("_cursor_query", "_prefetch", "_query", "_session")

    _cursor_query: CursorQuery
    _session: Session

    def __init__(
        self,
        connection: Connection,
        query: Any,
        args: tuple[Any, ...],
        prefetch: Any,
        timeout: Any,
        record_class: Any,
        rows_class: type[Any] | None,
        check_rows: Callable[[str, list[Any]], None] | None = None,
    ) -> None:
        # asyncpg's __init__ is not called: it needs a real connection.
        self._cursor_query = CursorQuery(
            connection, query, args, prefetch, timeout, record_class, rows_class, check_rows
        )
        self._session = connection._session
        self._query = query
        self._prefetch = prefetch

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
        return CursorIterator(self._cursor_query, prefetch)

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
        return Cursor(self._cursor_query, self._cursor_query.open())


def _cursor_repr(kind: str, query: Any, exhausted: bool, address: int) -> str:
    # asyncpg's BaseCursor.__repr__, module shown as "asyncpg".
    return f'<asyncpg.{kind} "{query!s:.30}" {"exhausted " if exhausted else ""}{address:#x}>'


class CursorIterator(asyncpg.cursor.CursorIterator):  # type: ignore[misc]
    """What ``async for`` iterates: the rows of one ``cursor`` step."""

    __slots__ = (
        "_buffer",
        "_cursor_query",
        "_exhausted",
        "_open_portal",
        "_prefetch",
        "_query",
        "_rows",
        "_session",
    )

    _cursor_query: CursorQuery
    _rows: Portal | None
    _session: Session

    def __init__(self, cursor_query: CursorQuery, prefetch: Any) -> None:
        self._cursor_query = cursor_query
        self._session = cursor_query.session
        self._query = cursor_query.query
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
        cursor_query = self._cursor_query
        if self._rows is None:
            limit = fetch_limit(self._prefetch)
            self._rows = cursor_query.open()
            self._open_portal = True
            self._fill(limit)
        elif not self._buffer and not self._exhausted:
            cursor_query.check_ready()
            self._fill(fetch_limit(self._prefetch))
        if self._open_portal and self._exhausted:
            cursor_query.check_ready()
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

    __slots__ = ("_cursor_query", "_exhausted", "_query", "_rows", "_session")

    _cursor_query: CursorQuery
    _rows: Portal
    _session: Session

    def __init__(self, cursor_query: CursorQuery, portal: Portal) -> None:
        self._cursor_query = cursor_query
        self._session = cursor_query.session
        self._query = cursor_query.query
        self._rows = portal
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
        self._cursor_query.check_ready()
        if n <= 0:
            raise self._bad_count("fetch", n)
        if self._exhausted:
            return []
        limit = fetch_limit(n)
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
        self._cursor_query.check_ready()
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
        self._cursor_query.check_ready()
        if n <= 0:
            raise self._bad_count("forward", n)
        # asyncpg formats MOVE FORWARD {n:d}, which refuses a float.
        _ = f"MOVE FORWARD {n:d}"
        if timeout is not None:
            # The check of asyncpg's simple-query path (forward sends MOVE).
            check_timeout(timeout)
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
    _record_class: type[Any] | None  # connect(record_class=...), set by Connection

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
            # Rows have the class given to cursor(), else the connection's.
            record_class or self._record_class,
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
