"""Portals: the server side of a cursor, as the fake plays it.

asyncpg binds a cursor's query to a portal on the server, then fetches from
it one round trip at a time.  The fake opens the portal with one scripted
step, ``cursor``, whose ``returns`` is every row, after the checks asyncpg
makes when it binds; the rows are then served locally.  Where a real cursor
would go back to the server, :meth:`CursorQuery.check_ready` makes
asyncpg's check that the transaction is still there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tripwire_core import Session

from ._checks import bad_query, check_record_class, refuse_arguments
from ._query import parameter_count
from ._resource import raw_timeout_checked
from .records import with_record_class

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["CursorQuery", "Portal", "fetch_limit"]

# asyncpg passes row counts to the protocol as a C int.
_INT32_MAX = 2**31 - 1


def fetch_limit(count: Any) -> int:
    """The row count asyncpg hands the protocol for *count*.

    It is a C int: floats truncate, and 0 (from 0 < count < 1) means "all rows".
    """
    limit = int(count)
    if limit > _INT32_MAX:
        raise OverflowError("value too large to convert to int")
    return limit


class Portal:
    """One open cursor's scripted rows, and where the server stands in them."""

    __slots__ = ("position", "rows")

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows
        self.position = 0

    def take(self, limit: int) -> list[Any]:
        start = self.position
        chunk = self.rows[start:] if limit == 0 else self.rows[start : start + limit]
        self.position = start + len(chunk)
        return chunk


class CursorQuery:
    """What a cursor factory opens each of its portals with.

    ``rows_class`` is the class of the rows the cursor yields; ``check_rows``
    compares them with a prepared statement's description (a statement's
    cursor only, which also records ``prepared=True``).
    """

    __slots__ = (
        "args",
        "check_rows",
        "connection",
        "fields",
        "query",
        "record_class",
        "rows_class",
        "session",
        "timeout",
    )

    def __init__(
        self,
        connection: Connection,
        query: Any,
        args: tuple[Any, ...],
        prefetch: Any,
        timeout: Any,
        record_class: Any,
        rows_class: type[Any] | None,
        check_rows: Callable[[str, list[Any]], None] | None,
    ) -> None:
        self.connection = connection
        self.session: Session = connection._session
        self.query = query
        self.args = args
        self.timeout = timeout
        self.record_class = record_class
        self.rows_class = rows_class
        self.check_rows = check_rows
        fields: dict[str, Any] = {"query": query, "args": list(args)}
        if prefetch is not None:
            fields["prefetch"] = prefetch
        if timeout is not None:
            fields["timeout"] = timeout
        if record_class is not None:
            fields["record_class"] = record_class
        if check_rows is not None:
            fields["prepared"] = True
        self.fields = fields

    def open(self) -> Portal:
        """The checks asyncpg makes when a cursor opens, then the ``cursor`` step."""
        session = self.session
        fields = self.fields
        query = self.query
        if self.record_class is not None:
            check_record_class(session, "cursor", self.record_class, fields)
        if query.__class__ is not str:
            bad_query(session, "cursor", query, False, fields)
        if self.timeout is not None:
            raw_timeout_checked(session, "cursor", self.timeout, fields)
        if parameter_count(query) != len(self.args):
            refuse_arguments(session, "cursor", query, self.args, fields)
        rows: list[Any] = self.connection._call("cursor", fields)
        if self.check_rows is not None:
            self.check_rows("cursor", rows)
        return Portal(with_record_class(rows, self.rows_class))

    def check_ready(self) -> None:
        """asyncpg's ``Cursor._check_ready`` before each round trip.

        The transaction must still be there; if not, it refuses as the step would.
        """
        if self.session.state != "in_transaction":
            self.session.check("cursor", self.fields)
