"""The fake ``asyncpg.Connection`` the code under test receives.

The query methods live here; the other parts of the API are mixins, one
module per concept (transactions, prepared statements, cursors, copy,
listeners, codecs, server information).
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

import asyncpg
import asyncpg.connection

from tripwire_core import ClientCheckError, NotSupportedError, RefusalError, Session

from ._checks import (
    OVERLAP_MESSAGE,
    argument_rows,
    bad_query,
    check_argument_rows,
    check_keywords,
    not_supported,
    refuse_arguments,
    timeout_checked,
)
from ._query import parameter_count
from .codecs import CodecMethods
from .copying import CopyMethods
from .cursor import CursorMethods
from .listeners import ListenerMethods, settle_deliveries
from .prepared import PreparedMethods
from .records import as_record_class, with_record_class
from .server import ServerInfo, ServerMethods
from .transaction import TransactionMethods

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Connection", "supported_methods"]

# asyncpg's metaclass accepts instances of _ConnectionProxy subclasses as
# `asyncpg.Connection` (that is how its pool proxies pass); so does the fake.
_ProxyBase: type = getattr(asyncpg.connection, "_ConnectionProxy", object)


class _Hooks:
    """The end of the mixins' cooperative hooks (last in the MRO)."""

    def _closed(self) -> None:
        """The connection has closed: mixins extend this (termination listeners)."""

    def _after_simple_query(self, query: Any) -> None:
        """``execute()`` without arguments ran: mixins extend this (manual BEGIN)."""


class Connection(
    _ProxyBase,  # type: ignore[misc]
    TransactionMethods,
    PreparedMethods,
    CursorMethods,
    CopyMethods,
    ListenerMethods,
    CodecMethods,
    ServerMethods,
    _Hooks,
):
    """A scripted stand-in for ``asyncpg.Connection``.

    Methods keep asyncpg's signatures; each call runs through the session's
    state machine and script, and returns what the test scripted.
    """

    def __init__(
        self,
        session: Session,
        info: ServerInfo | None = None,
        record_class: type[Any] | None = None,
    ) -> None:
        self._session = session
        self._info = info if info is not None else ServerInfo()
        # connect(record_class=...): the default for this connection's rows.
        self._record_class = record_class
        # The task whose operation is in flight until the loop turns (see _call).
        self._busy: asyncio.Task[Any] | None = None
        self._busy_loop: asyncio.AbstractEventLoop | None = None
        super().__init__()

    def __repr__(self) -> str:
        return f"<tripwire asyncpg Connection {self._session.label} state={self._session.state}>"

    def _call(self, step: str, fields: dict[str, Any]) -> Any:
        """Run *step* as one network operation would: refuse an overlapping one.

        A real operation lasts at least until the event loop turns, so a
        second task using the connection in the same turn collides with it,
        as in asyncpg.  Calls from the same task run one after another.
        """
        busy = self._busy
        if busy is None:
            # The first operation of this loop turn: the connection is busy
            # with this task until the loop turns.
            loop = self._busy_loop = asyncio.get_running_loop()
            self._busy = asyncio.current_task(loop)
            loop.call_soon(self._idle)
        elif busy is not asyncio.current_task(self._busy_loop):
            self._session.check(step, fields)
            raise self._session.plugin.refuse(
                ClientCheckError,
                OVERLAP_MESSAGE,
                native=asyncpg.InterfaceError,
                note=f"{self._session.label}: {step}() started while another task's operation "
                "on this connection was still in progress (asyncio.gather on one connection?).",
            )
        try:
            return self._session.call(step, fields)
        except asyncpg.PostgresError as error:
            # A server error inside a transaction aborts it, as PostgreSQL does.
            if self._session.state == "in_transaction" and not isinstance(error, RefusalError):
                self._session.transition("fail")
            raise

    def _idle(self) -> None:
        self._busy = None

    # Queries.

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        fields: dict[str, Any] = {"query": query, "args": list(args)}
        if self._session.state == "failed_transaction":
            # Only a statement that ends the failed transaction gets through.
            self._execute_in_failed_transaction(query, args)
        if timeout is not None:
            fields["timeout"] = timeout
            timeout_checked(self._session, "execute", timeout, fields)
        if args:
            if parameter_count(query) != len(args):
                refuse_arguments(self._session, "execute", query, args, fields)
        elif query.__class__ is not str:
            # Without arguments asyncpg sends the text as is (simple protocol).
            bad_query(self._session, "execute", query, True, fields)
        result: str = self._call("execute", fields)
        if not args:
            self._after_simple_query(query)
        if self._delivered:
            await settle_deliveries(self)
        return result

    async def executemany(self, command: str, args: Any, *, timeout: float | None = None) -> None:
        rows = argument_rows(args)
        fields: dict[str, Any] = {"command": command, "args": rows}
        if timeout is not None:
            fields["timeout"] = timeout
            timeout_checked(self._session, "executemany", timeout, fields)
        check_argument_rows(self._session, "executemany", command, rows, fields)
        self._call("executemany", fields)
        if self._delivered:
            await settle_deliveries(self)

    async def fetch(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,
        record_class: type[Any] | None = None,
    ) -> list[Any]:
        fields = _fields(query, args, timeout, record_class)
        if len(fields) > 2:
            check_keywords(self._session, "fetch", timeout, record_class, fields)
        if parameter_count(query) != len(args):
            refuse_arguments(self._session, "fetch", query, args, fields)
        result: list[Any] = self._call("fetch", fields)
        if self._delivered:
            await settle_deliveries(self)
        rows_class = record_class or self._record_class
        return result if rows_class is None else with_record_class(result, rows_class)

    async def fetchrow(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,
        record_class: type[Any] | None = None,
    ) -> Any:
        fields = _fields(query, args, timeout, record_class)
        if len(fields) > 2:
            check_keywords(self._session, "fetchrow", timeout, record_class, fields)
        if parameter_count(query) != len(args):
            refuse_arguments(self._session, "fetchrow", query, args, fields)
        row = self._call("fetchrow", fields)
        if self._delivered:
            await settle_deliveries(self)
        rows_class = record_class or self._record_class
        return row if rows_class is None or row is None else as_record_class(row, rows_class)

    async def fetchval(
        self, query: str, *args: Any, column: int | str = 0, timeout: float | None = None
    ) -> Any:
        fields: dict[str, Any] = {"query": query, "args": list(args)}
        if column != 0:
            fields["column"] = column
        if timeout is not None:
            fields["timeout"] = timeout
            timeout_checked(self._session, "fetchval", timeout, fields)
        if parameter_count(query) != len(args):
            refuse_arguments(self._session, "fetchval", query, args, fields)
        value = self._call("fetchval", fields)
        if self._delivered:
            await settle_deliveries(self)
        return value

    async def fetchmany(
        self,
        query: str,
        args: Any,
        *,
        timeout: float | None = None,
        record_class: type[Any] | None = None,
    ) -> list[Any]:
        rows = argument_rows(args)
        fields = _fields(query, (), timeout, record_class)
        fields["args"] = rows
        if len(fields) > 2:
            check_keywords(self._session, "fetchmany", timeout, record_class, fields)
        check_argument_rows(self._session, "fetchmany", query, rows, fields)
        result: list[Any] = self._call("fetchmany", fields)
        if self._delivered:
            await settle_deliveries(self)
        rows_class = record_class or self._record_class
        return result if rows_class is None else with_record_class(result, rows_class)

    # Lifecycle.

    async def close(self, *, timeout: float | None = None) -> None:
        session = self._session
        # asyncpg's close() is a no-op on a closed connection.
        if session.state == "closed":
            session.check_sandbox("close")
            return
        try:
            session.call("close", {} if timeout is None else {"timeout": timeout})
        except RefusalError:
            raise
        except BaseException:
            # A close that fails still aborts the connection, as asyncpg does.
            session.transition("abort")
            self._closed()
            raise
        self._closed()

    def terminate(self) -> None:
        session = self._session
        # Like close(), terminate() is idempotent.
        if session.state == "closed":
            session.check_sandbox("terminate")
            return
        session.call("terminate", {})
        self._terminated = True
        self._closed()

    def is_closed(self) -> bool:
        self._session.check_sandbox("is_closed")
        return self._session.state == "closed"

    def __getattr__(self, name: str) -> Any:
        # The attribute exists, as on asyncpg (hasattr stays True); calling it
        # is refused by name instead of returning a silent mock.
        if not name.startswith("_") and callable(getattr(asyncpg.Connection, name, None)):
            return functools.partial(_unsupported, self._session, name)
        raise AttributeError(f"'Connection' object has no attribute {name!r}")


def supported_methods() -> Sequence[str]:
    """The public methods of ``asyncpg.Connection`` the fake implements."""
    return sorted(
        name
        for name in dir(asyncpg.Connection)
        if not name.startswith("_") and name in _own_names()
    )


@functools.lru_cache(maxsize=1)
def _own_names() -> frozenset[str]:
    names: set[str] = set()
    for cls in Connection.__mro__:
        if cls.__module__.startswith("tripwire_drivers.asyncpg"):
            names.update(n for n in vars(cls) if not n.startswith("_"))
    return frozenset(names)


def _unsupported(session: Session, name: str, *args: Any, **kwargs: Any) -> Any:
    raise session.plugin.refuse(
        NotSupportedError,
        f"{not_supported('Connection', name)}\nSupported: {', '.join(supported_methods())}.",
    )


def _fields(
    query: str, args: tuple[Any, ...], timeout: float | None, record_class: type[Any] | None
) -> dict[str, Any]:
    fields: dict[str, Any] = {"query": query, "args": list(args)}
    if timeout is not None:
        fields["timeout"] = timeout
    if record_class is not None:
        fields["record_class"] = record_class
    return fields
