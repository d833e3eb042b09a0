"""The asyncpg driver: its state machine, interception and assertions.

One machine covers the whole protocol: connections (plain or acquired from
a pool, with transaction states) and pools, which start in states of their
own.  Savepoint depth is counted by the fake, not by the machine.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import asyncpg
import asyncpg.connection
import asyncpg.pool

from tripwire_core import (
    NOTHING,
    DriverPlugin,
    FunctionCodePatch,
    NativeErrors,
    Patch,
    Step,
)

from .connection import Connection
from .handles import PoolHandle, SessionHandle
from .records import to_record, to_records
from .server import server_info

__all__ = ["AsyncpgPlugin"]


def _none(value: Any) -> None:
    if value is not None:
        raise TypeError(f"the fake builds its own result, so returns must be None, got {value!r}")


def _status(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a status string such as 'INSERT 0 1', got {value!r}")
    return value


def _row_or_none(value: Any) -> Any:
    return None if value is None else to_record(value)


def _any(value: Any) -> Any:
    return value


_OPEN = ("connected", "in_transaction")
_LIVE = ("connected", "in_transaction", "failed_transaction")
_QUERY = ("query", "args")


def _query_steps() -> tuple[Step, ...]:
    # Query steps are legal on a connection and, as pool shortcuts, on a pool.
    usable = (*_OPEN, "pool_ready")
    return (
        Step("execute", usable, None, _QUERY, _status, "a status str such as 'INSERT 0 1'"),
        Step("executemany", usable, None, ("command", "args"), _none, "None"),
        Step("fetch", usable, None, _QUERY, to_records, "a list of dicts (rows)"),
        Step("fetchrow", usable, None, _QUERY, _row_or_none, "a dict (one row) or None"),
        Step("fetchval", usable, None, _QUERY, _any, "any single value"),
        Step("fetchmany", usable, None, _QUERY, to_records, "a list of dicts (rows)"),
        Step("copy_from_table", usable, None, ("table_name",), _status, "a status str 'COPY n'"),
        Step("copy_from_query", usable, None, _QUERY, _status, "a status str 'COPY n'"),
        Step("copy_to_table", usable, None, ("table_name",), _status, "a status str 'COPY n'"),
        Step(
            "copy_records_to_table",
            usable,
            None,
            ("table_name", "records"),
            _status,
            "a status str 'COPY n'",
        ),
    )


class AsyncpgPlugin(DriverPlugin):
    """Scripts and verifies asyncpg connections and pools.

    ``new_session()`` queues a connection session: each ``asyncpg.connect()``
    (or pool acquire) made in a sandbox takes the next one.  ``new_pool()``
    queues a pool session for ``asyncpg.create_pool()``.  The ``assert_*``
    helpers assert the recorded interactions in order.
    """

    name = "asyncpg"
    library = "asyncpg"
    handle_class = SessionHandle
    states = (
        "disconnected",
        "connected",
        "in_transaction",
        "failed_transaction",
        "released",
        "closed",
        "pool_new",
        "pool_ready",
        "pool_closed",
    )
    initial = "disconnected"
    steps = (
        Step("connect", "disconnected", "connected", (), server_info, "None or a ServerInfo"),
        Step("acquire", "disconnected", "connected", (), _none, "None"),
        *_query_steps(),
        Step("prepare", _OPEN, None, ("query",), _any, "None or a Statement description"),
        Step("cursor", "in_transaction", None, _QUERY, to_records, "a list of dicts (rows)"),
        Step("add_listener", _OPEN, None, ("channel", "callback"), _none, "None"),
        Step("remove_listener", _OPEN, None, ("channel", "callback"), _none, "None"),
        Step("set_type_codec", _OPEN, None, ("typename",), _none, "None"),
        Step("set_builtin_type_codec", _OPEN, None, ("typename",), _none, "None"),
        Step("reset_type_codec", _OPEN, None, ("typename",), _none, "None"),
        Step("reload_schema_state", _OPEN, None, (), _none, "None"),
        Step("reset", _LIVE, "connected", (), _none, "None"),
        Step("begin", "connected", "in_transaction", (), _none, "None"),
        Step("commit", "in_transaction", "connected", (), _none, "None"),
        Step("rollback", ("in_transaction", "failed_transaction"), "connected", (), _none, "None"),
        Step("savepoint", "in_transaction", None, (), _none, "None"),
        Step("release_savepoint", "in_transaction", None, (), _none, "None"),
        Step(
            "rollback_to_savepoint",
            ("in_transaction", "failed_transaction"),
            "in_transaction",
            (),
            _none,
            "None",
        ),
        Step("release", _LIVE, "released", (), _none, "None"),
        Step("close", _LIVE, "closed", (), _none, "None"),
        Step("close", "pool_ready", "pool_closed", (), _none, "None"),
        Step("terminate", _LIVE, "closed", (), _none, "None"),
        Step("terminate", "pool_ready", "pool_closed", (), _none, "None"),
        Step("create_pool", "pool_new", "pool_ready", (), _none, "None"),
        Step("expire_connections", "pool_ready", None, (), _none, "None"),
        # What asyncpg (or the server) does by itself.
        Step("abort", _LIVE, "closed", scripted=False),
        Step("fail", "in_transaction", "failed_transaction", scripted=False),
        Step("begin_manually", "connected", "in_transaction", scripted=False),
        Step("end_manually", _LIVE, "connected", scripted=False),
    )
    native_errors: ClassVar[NativeErrors] = {
        "closed": (asyncpg.InterfaceError, "connection is closed"),
        "released": (
            asyncpg.InterfaceError,
            "cannot call Connection.{step}(): connection has been released back to the pool",
        ),
        "failed_transaction": (
            asyncpg.InFailedSQLTransactionError,
            "current transaction is aborted, commands ignored until end of transaction block",
        ),
        ("connected", "cursor"): (
            asyncpg.NoActiveSQLTransactionError,
            "cursor cannot be created outside of a transaction",
        ),
        "pool_new": (asyncpg.InterfaceError, "pool is not initialized"),
        "pool_closed": (asyncpg.InterfaceError, "pool is closed"),
    }

    def patches(self) -> Sequence[Patch]:
        # Swapping the code of asyncpg's functions reaches every alias,
        # including `from asyncpg import connect` run before the sandbox.
        from .pool import fake_create_pool

        return (
            FunctionCodePatch(asyncpg.connection.connect, _connect),
            FunctionCodePatch(asyncpg.pool.create_pool, fake_create_pool),
        )

    def new_session(self) -> SessionHandle:
        """Queue a connection session, for ``connect()`` or a pool's acquire."""
        return SessionHandle(self.queue_session())

    def new_pool(self) -> PoolHandle:
        """Queue a pool session for the next ``asyncpg.create_pool()``."""
        return PoolHandle(self.queue_session("pool", "pool_new"))

    def leftovers(self) -> list[str]:
        from .pool import unreleased
        from .transaction import unfinished

        return [*unreleased(self), *unfinished(self)]

    # Typed assertion helpers: the steps a test asserts most.

    def assert_connect(self, **fields: Any) -> None:
        """Assert the next ``connect``: pass whichever parameters the code used."""
        __tracebackhide__ = True
        self.assert_step("connect", **fields)

    def assert_execute(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``execute(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("execute", **_given(query=query, args=args, **extra))

    def assert_executemany(
        self, *, command: Any = NOTHING, args: Any = NOTHING, **extra: Any
    ) -> None:
        """Assert the next ``executemany(command, args)``."""
        __tracebackhide__ = True
        self.assert_step("executemany", **_given(command=command, args=args, **extra))

    def assert_fetch(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``fetch(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("fetch", **_given(query=query, args=args, **extra))

    def assert_fetchrow(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``fetchrow(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("fetchrow", **_given(query=query, args=args, **extra))

    def assert_fetchval(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``fetchval(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("fetchval", **_given(query=query, args=args, **extra))

    def assert_fetchmany(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``fetchmany(query, args)``."""
        __tracebackhide__ = True
        self.assert_step("fetchmany", **_given(query=query, args=args, **extra))

    def assert_close(self, **extra: Any) -> None:
        """Assert the next ``close()`` (of a connection or a pool)."""
        __tracebackhide__ = True
        self.assert_step("close", **extra)

    def assert_begin(self, **options: Any) -> None:
        """Assert the next transaction start, with the options the code gave."""
        __tracebackhide__ = True
        self.assert_step("begin", **options)

    def assert_commit(self) -> None:
        """Assert the next transaction commit."""
        __tracebackhide__ = True
        self.assert_step("commit")

    def assert_rollback(self) -> None:
        """Assert the next transaction rollback."""
        __tracebackhide__ = True
        self.assert_step("rollback")

    def assert_create_pool(self, **fields: Any) -> None:
        """Assert the next ``create_pool``: pass whichever parameters the code used."""
        __tracebackhide__ = True
        self.assert_step("create_pool", **fields)

    def assert_acquire(self, **fields: Any) -> None:
        """Assert the next acquire of a pooled connection."""
        __tracebackhide__ = True
        self.assert_step("acquire", **fields)

    def assert_release(self, **fields: Any) -> None:
        """Assert the next release of a pooled connection."""
        __tracebackhide__ = True
        self.assert_step("release", **fields)


def _given(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not NOTHING}


_CONNECT_SIGNATURE = inspect.signature(asyncpg.connection.connect)


async def _connect(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        bound = _CONNECT_SIGNATURE.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"connect() {exc}") from None
    session = AsyncpgPlugin.start_session("connect")
    info = session.call("connect", dict(bound.arguments))
    return Connection(session, info)
