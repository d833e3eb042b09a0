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

from ._steps import LIVE, OPEN, any_value, given, none, row_or_none, status
from .codecs import CODEC_STEPS, CodecAssertions
from .connection import Connection
from .copying import COPY_STEPS, CopyAssertions
from .cursor import CURSOR_ERRORS, CURSOR_STEPS, CursorAssertions
from .handles import PoolHandle, SessionHandle
from .listeners import LISTENER_STEPS, ListenerAssertions
from .pool_steps import POOL_ERRORS, POOL_STEPS, PoolAssertions
from .prepared import PREPARED_STEPS, PreparedAssertions
from .records import to_records
from .server import server_info
from .transaction_steps import TRANSACTION_ERRORS, TRANSACTION_STEPS, TransactionAssertions

__all__ = ["AsyncpgPlugin"]


_QUERY = ("query", "args")


def _query_steps() -> tuple[Step, ...]:
    # Query steps are legal on a connection and, as pool shortcuts, on a pool.
    usable = (*OPEN, "pool_ready")
    return (
        # A failed transaction lets execute("ROLLBACK") through; the fake
        # refuses other statements there as the server does.
        Step(
            "execute",
            (*usable, "failed_transaction"),
            None,
            _QUERY,
            status,
            "a status str such as 'INSERT 0 1'",
        ),
        Step("executemany", usable, None, ("command", "args"), none, "None"),
        Step("fetch", usable, None, _QUERY, to_records, "a list of dicts (rows)"),
        Step("fetchrow", usable, None, _QUERY, row_or_none, "a dict (one row) or None"),
        Step("fetchval", usable, None, _QUERY, any_value, "any single value"),
        Step("fetchmany", usable, None, _QUERY, to_records, "a list of dicts (rows)"),
    )


class AsyncpgPlugin(
    DriverPlugin,
    TransactionAssertions,
    PoolAssertions,
    PreparedAssertions,
    CursorAssertions,
    CopyAssertions,
    ListenerAssertions,
    CodecAssertions,
):
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
        *_query_steps(),
        Step("close", LIVE, "closed", (), none, "None"),
        Step("terminate", LIVE, "closed", (), none, "None"),
        # What asyncpg does by itself when it gives up on a connection.
        Step("abort", LIVE, "closed", scripted=False),
        *TRANSACTION_STEPS,
        *POOL_STEPS,
        *PREPARED_STEPS,
        *CURSOR_STEPS,
        *LISTENER_STEPS,
        *CODEC_STEPS,
        *COPY_STEPS,
    )
    native_errors: ClassVar[NativeErrors] = {
        "closed": (asyncpg.InterfaceError, "connection is closed"),
        **TRANSACTION_ERRORS,
        **POOL_ERRORS,
        **CURSOR_ERRORS,
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
        from .loans import unreleased
        from .transaction_status import unfinished

        return [*unreleased(self), *unfinished(self)]

    # Typed assertion helpers: the steps a test asserts most.

    def assert_connect(self, **fields: Any) -> None:
        """Assert the next ``connect``: pass whichever parameters the code used."""
        __tracebackhide__ = True
        self.assert_step("connect", **fields)

    def assert_execute(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``execute(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("execute", **given(query=query, args=args, **extra))

    def assert_executemany(
        self, *, command: Any = NOTHING, args: Any = NOTHING, **extra: Any
    ) -> None:
        """Assert the next ``executemany(command, args)``."""
        __tracebackhide__ = True
        self.assert_step("executemany", **given(command=command, args=args, **extra))

    def assert_fetch(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``fetch(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("fetch", **given(query=query, args=args, **extra))

    def assert_fetchrow(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``fetchrow(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("fetchrow", **given(query=query, args=args, **extra))

    def assert_fetchval(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``fetchval(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("fetchval", **given(query=query, args=args, **extra))

    def assert_fetchmany(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``fetchmany(query, args)``."""
        __tracebackhide__ = True
        self.assert_step("fetchmany", **given(query=query, args=args, **extra))

    def assert_close(self, **extra: Any) -> None:
        """Assert the next ``close()`` (of a connection or a pool)."""
        __tracebackhide__ = True
        self.assert_step("close", **extra)


_CONNECT_SIGNATURE = inspect.signature(asyncpg.connection.connect)


_PARAMETERS = _CONNECT_SIGNATURE.parameters
_POSITIONAL = tuple(n for n, p in _PARAMETERS.items() if p.kind is p.POSITIONAL_OR_KEYWORD)
_NAMES = frozenset(
    n for n, p in _PARAMETERS.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
)


def _connect_fields(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``connect()`` received, by name, in the signature's order."""
    if (
        len(args) <= len(_POSITIONAL)
        and kwargs.keys() <= _NAMES
        and kwargs.keys().isdisjoint(_POSITIONAL[: len(args)])
    ):
        # A call Python itself would accept: no need for Signature.bind,
        # which costs about 10 µs for connect()'s two dozen parameters.
        given = dict(zip(_POSITIONAL, args, strict=False))
        given.update(kwargs)
        return {name: given[name] for name in _PARAMETERS if name in given}
    try:
        return dict(_CONNECT_SIGNATURE.bind(*args, **kwargs).arguments)
    except TypeError as exc:
        raise TypeError(f"connect() {exc}") from None


async def _connect(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    fields = _connect_fields(args, kwargs)
    _check_connect_arguments(fields)
    session = AsyncpgPlugin.start_session("connect")
    info = session.call("connect", fields)
    record_class = fields.get("record_class")
    # The default, asyncpg.Record, means the scripted rows as they are.
    if record_class is asyncpg.Record:
        record_class = None
    return Connection(session, info, record_class)


_CACHE_SETTINGS = (
    "max_cacheable_statement_size",
    "max_cached_statement_lifetime",
    "statement_cache_size",
)


def _check_connect_arguments(arguments: dict[str, Any]) -> None:
    """What asyncpg's connect() refuses before any I/O, with its messages."""
    connection_class = arguments.get("connection_class", asyncpg.Connection)
    if not (
        isinstance(connection_class, type) and issubclass(connection_class, asyncpg.Connection)
    ):
        raise asyncpg.InterfaceError(
            "connection_class is expected to be a subclass of asyncpg.Connection, "
            f"got {connection_class!r}"
        )
    for name in _CACHE_SETTINGS:
        if name in arguments:
            value = arguments[name]
            if value is None or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} is expected to be greater or equal to 0, got {value!r}")
    value = arguments.get("command_timeout")
    if value is not None:
        try:
            if isinstance(value, bool):
                raise ValueError
            value = float(value)
            if value <= 0:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"invalid command_timeout value: expected greater than 0 float (got {value!r})"
            ) from None
    dsn = arguments.get("dsn")
    if isinstance(dsn, str) and "://" in dsn:
        scheme = dsn.split("://", 1)[0]
        if scheme not in ("postgres", "postgresql"):
            raise asyncpg.ClientConfigurationError(
                'invalid DSN: scheme is expected to be either "postgresql" or "postgres", '
                f"got {scheme!r}"
            )
