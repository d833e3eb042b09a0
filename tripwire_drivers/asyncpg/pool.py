"""Pools: ``asyncpg.create_pool()``, acquire and release.

A pool is a session of its own (queue ``"pool"``): ``create_pool`` when it
initialises, then its shortcut queries, then ``close`` or ``terminate``.
Each acquire takes the next *connection* session (the default queue) and
runs its ``acquire`` step; the connection's script ends with ``release``.
One acquire is one session, so ``min_size`` and connection reuse are not
modelled: a test scripts what the code does with each connection it gets.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import weakref
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

import asyncpg
import asyncpg.connection
import asyncpg.pool

from tripwire_core import (
    NOTHING,
    ClientCheckError,
    InvalidStateError,
    NativeErrors,
    NotSupportedError,
    RefusalError,
    Session,
    Step,
    blend_refusal,
)

from ._assertions import Assertions
from ._steps import LIVE, given, none
from .connection import Connection
from .server import ServerInfo, server_info

if TYPE_CHECKING:
    from .plugin import AsyncpgPlugin

__all__ = [
    "POOL_ERRORS",
    "POOL_STEPS",
    "RELEASE_WAIT",
    "Pool",
    "PoolAcquireContext",
    "PoolAssertions",
    "PoolConnectionProxy",
    "PoolShortcuts",
    "fake_create_pool",
    "unreleased",
]

POOL_STEPS = (
    Step("acquire", "disconnected", "connected", (), server_info, "None or a ServerInfo"),
    Step("release", LIVE, "released", (), none, "None"),
    Step("create_pool", "pool_new", "pool_ready", (), none, "None"),
    Step("close", "pool_ready", "pool_closed", (), none, "None"),
    Step("terminate", "pool_ready", "pool_closed", (), none, "None"),
    Step("expire_connections", "pool_ready", None, (), none, "None"),
    # What asyncpg does by itself: release rolls back an open transaction;
    # a shortcut whose connection dies leaves the pool ready.
    Step(
        "rollback_on_release", ("in_transaction", "failed_transaction"), "connected", scripted=False
    ),
    Step("abort", "pool_ready", None, scripted=False),
)

POOL_ERRORS: NativeErrors = {
    "released": (
        asyncpg.InterfaceError,
        "cannot call Connection.{step}(): connection has been released back to the pool",
    ),
    "pool_new": (asyncpg.InterfaceError, "pool is not initialized"),
    "pool_closed": (asyncpg.InterfaceError, "pool is closed"),
}

#: Seconds the fake waits for another task to release a connection (for
#: ``close()``, or an ``acquire()`` without timeout on an exhausted pool)
#: before refusing: asyncpg would wait forever.
RELEASE_WAIT = 1.0

_CREATE_POOL = inspect.signature(asyncpg.pool.create_pool)
_POOL_DEFAULTS = {
    name: p.default for name, p in _CREATE_POOL.parameters.items() if p.kind is p.KEYWORD_ONLY
}
_CONNECT_PARAMETERS = frozenset(inspect.signature(asyncpg.connection.connect).parameters)
_VERSION = tuple(int(part) for part in asyncpg.__version__.split(".")[:2])
_OWN_PACKAGES = frozenset({"tripwire", "tripwire_core", "tripwire_drivers"})

# Where each connection still out of its pool was acquired, by session.
_LOANS: weakref.WeakKeyDictionary[Session, tuple[str, int]] = weakref.WeakKeyDictionary()


def fake_create_pool(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Pool:
    """Stands in for ``asyncpg.create_pool``: checks the arguments, returns a pool.

    Nothing is connected (and no session taken) until the pool initialises.
    """
    if len(args) > 1:
        raise TypeError(
            f"create_pool() takes from 0 to 1 positional arguments but {len(args)} were given"
        )
    if args and "dsn" in kwargs:
        raise TypeError("create_pool() got multiple values for argument 'dsn'")
    return Pool({"dsn": args[0], **kwargs} if args else kwargs)


def _settings(passed: dict[str, Any]) -> dict[str, Any]:
    """The pool's parameters, checked in asyncpg's order with its messages."""
    values = {**_POOL_DEFAULTS, **{k: v for k, v in passed.items() if k in _POOL_DEFAULTS}}
    min_size, max_size = values["min_size"], values["max_size"]
    if max_size <= 0:
        raise ValueError("max_size is expected to be greater than zero")
    if min_size < 0:
        raise ValueError("min_size is expected to be greater or equal to zero")
    if min_size > max_size:
        raise ValueError("min_size is greater than max_size")
    if "init_size" in values:  # asyncpg 0.32
        if values["init_size"] is None:
            values["init_size"] = min_size
        if values["init_size"] < 0:
            raise ValueError("init_size is expected to be greater or equal to zero")
        if values["init_size"] > max_size:
            raise ValueError("init_size is greater than max_size")
        if values["init_size"] < min_size:
            raise ValueError("init_size is smaller than min_size")
    if values["max_queries"] <= 0:
        raise ValueError("max_queries is expected to be greater than zero")
    if values["max_inactive_connection_lifetime"] < 0:
        raise ValueError(
            "max_inactive_connection_lifetime is expected to be greater or equal to zero"
        )
    if not issubclass(values["connection_class"], asyncpg.Connection):
        raise TypeError(
            "connection_class is expected to be a subclass of asyncpg.Connection, "
            f"got {values['connection_class']!r}"
        )
    if not issubclass(values["record_class"], asyncpg.Record):
        raise TypeError(
            "record_class is expected to be a subclass of asyncpg.Record, "
            f"got {values['record_class']!r}"
        )
    return values


class PoolShortcuts:
    """The pool's query shortcuts: each is a step of the pool's session.

    asyncpg runs each on a connection of its own; the fake runs Connection's
    own checks and methods on the pool's session (see :class:`_PoolQueries`).
    """

    __slots__ = ()

    # What runs the shortcuts while the pool is ready and has a connection
    # free (the fast path); otherwise None, and _borrow() raises or waits.
    _ready_queries: _PoolQueries | None

    if TYPE_CHECKING:

        async def _borrow(self, step: str) -> _PoolQueries: ...

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        queries = self._ready_queries or await self._borrow("execute")
        return await queries.execute(query, *args, timeout=timeout)

    async def executemany(self, command: str, args: Any, *, timeout: float | None = None) -> None:
        queries = self._ready_queries or await self._borrow("executemany")
        await queries.executemany(command, args, timeout=timeout)

    async def fetch(
        self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None
    ) -> list[Any]:
        queries = self._ready_queries or await self._borrow("fetch")
        return await queries.fetch(query, *args, timeout=timeout, record_class=record_class)

    async def fetchval(
        self, query: str, *args: Any, column: int | str = 0, timeout: float | None = None
    ) -> Any:
        queries = self._ready_queries or await self._borrow("fetchval")
        return await queries.fetchval(query, *args, column=column, timeout=timeout)

    async def fetchrow(
        self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None
    ) -> Any:
        queries = self._ready_queries or await self._borrow("fetchrow")
        return await queries.fetchrow(query, *args, timeout=timeout, record_class=record_class)

    async def fetchmany(
        self, query: str, args: Any, *, timeout: float | None = None, record_class: Any = None
    ) -> list[Any]:
        queries = self._ready_queries or await self._borrow("fetchmany")
        return await queries.fetchmany(query, args, timeout=timeout, record_class=record_class)

    async def copy_from_table(
        self,
        table_name: str,
        *,
        output: Any,
        columns: Any = None,
        schema_name: Any = None,
        timeout: Any = None,
        format: Any = None,
        oids: Any = None,
        delimiter: Any = None,
        null: Any = None,
        header: Any = None,
        quote: Any = None,
        escape: Any = None,
        force_quote: Any = None,
        encoding: Any = None,
    ) -> str:
        keywords = _keywords(locals(), "table_name")
        queries = self._ready_queries or await self._borrow("copy_from_table")
        result: str = await queries.copy_from_table(table_name, **keywords)
        return result

    async def copy_from_query(
        self,
        query: str,
        *args: Any,
        output: Any,
        timeout: Any = None,
        format: Any = None,
        oids: Any = None,
        delimiter: Any = None,
        null: Any = None,
        header: Any = None,
        quote: Any = None,
        escape: Any = None,
        force_quote: Any = None,
        encoding: Any = None,
    ) -> str:
        keywords = _keywords(locals(), "query", "args")
        queries = self._ready_queries or await self._borrow("copy_from_query")
        result: str = await queries.copy_from_query(query, *args, **keywords)
        return result

    async def copy_to_table(
        self,
        table_name: str,
        *,
        source: Any,
        columns: Any = None,
        schema_name: Any = None,
        timeout: Any = None,
        format: Any = None,
        oids: Any = None,
        freeze: Any = None,
        delimiter: Any = None,
        null: Any = None,
        header: Any = None,
        quote: Any = None,
        escape: Any = None,
        force_quote: Any = None,
        force_not_null: Any = None,
        force_null: Any = None,
        encoding: Any = None,
        where: Any = None,
    ) -> str:
        keywords = _keywords(locals(), "table_name")
        queries = self._ready_queries or await self._borrow("copy_to_table")
        result: str = await queries.copy_to_table(table_name, **keywords)
        return result

    async def copy_records_to_table(
        self,
        table_name: str,
        *,
        records: Any,
        columns: Any = None,
        schema_name: Any = None,
        timeout: Any = None,
        where: Any = None,
    ) -> str:
        keywords = _keywords(locals(), "table_name")
        queries = self._ready_queries or await self._borrow("copy_records_to_table")
        result: str = await queries.copy_records_to_table(table_name, **keywords)
        return result


class Pool(PoolShortcuts):
    """A scripted stand-in for ``asyncpg.pool.Pool``."""

    __slots__ = (
        "_closed",
        "_closing",
        "_connect_args",
        "_connect_kwargs",
        "_fields",
        "_initialized",
        "_loans",
        "_ready_queries",
        "_runner",
        "_session",
        "_settings",
        "_size",
        "_unknown_keyword",
        "_waiters",
    )

    def __init__(self, passed: dict[str, Any]) -> None:
        self._settings = _settings(passed)
        self._fields = passed
        self._session: Session | None = None
        self._runner: _PoolQueries | None = None
        self._ready_queries = None
        self._initialized = self._closing = self._closed = False
        self._loans: dict[PoolConnectionProxy, None] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._size = 0
        connect_kwargs = {k: v for k, v in passed.items() if k not in _POOL_DEFAULTS}
        connect_kwargs.pop("dsn", None)
        self.set_connect_args(passed.get("dsn"), **connect_kwargs)

    def __repr__(self) -> str:
        if self._session is None:
            return "<tripwire asyncpg Pool (not initialized)>"
        return f"<tripwire asyncpg Pool {self._session.label} state={self._session.state}>"

    # Initialisation, as `await pool` or `async with pool`.

    def __await__(self) -> Any:
        return self._async__init__().__await__()

    async def __aenter__(self) -> Pool:
        await self._async__init__()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def _async__init__(self) -> Pool | None:
        if self._initialized:
            self._check_sandbox("create_pool")
            return self if _VERSION >= (0, 30) else None
        if self._unknown_keyword is not None and self._init_size():
            # The first connection fails before reaching any server.
            self._initialized = self._closed = True
            raise TypeError(
                f"connect() got an unexpected keyword argument {self._unknown_keyword!r}"
            )
        from .plugin import AsyncpgPlugin

        session = AsyncpgPlugin.start_session("create_pool", queue="pool")
        self._session = session
        try:
            session.call("create_pool", self._fields)
        except RefusalError:
            raise
        except BaseException:
            # asyncpg 0.32 closes a pool whose initialisation failed.
            self._initialized = self._closed = True
            raise
        self._initialized = True
        self._size = self._init_size()
        self._runner = _PoolQueries(session)
        self._refresh()
        return self

    def _init_size(self) -> int:
        size: int = self._settings.get("init_size", self._settings["min_size"])
        return size

    # Acquire and release.

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        return PoolAcquireContext(self, timeout)

    async def _acquire(self, timeout: float | None) -> PoolConnectionProxy:
        session = self._ready("acquire")
        if timeout is not None and timeout <= 0:
            raise asyncio.TimeoutError
        if len(self._loans) >= self._settings["max_size"]:
            await self._wait_for_slot(timeout, "acquire")
        site = _call_site()
        hook = self._settings.get("connect")
        if hook is None:
            if self._unknown_keyword is not None:
                raise TypeError(
                    f"connect() got an unexpected keyword argument {self._unknown_keyword!r}"
                )
            connection = session.plugin.open_session("Pool.acquire")
            info = connection.call("acquire", {} if timeout is None else {"timeout": timeout})
            proxy = raw = PoolConnectionProxy(connection, info, self)
        else:
            raw = await self._connect_through(hook)
            proxy = PoolConnectionProxy(raw._session, raw._info, self)
        try:
            if self._settings["init"] is not None:
                await self._settings["init"](raw)
            if self._settings["setup"] is not None:
                await self._settings["setup"](proxy)
        except BaseException:
            # asyncpg closes a connection whose init or setup failed.
            if proxy._session.state in LIVE:
                proxy._session.transition("abort")
            raise
        self._loans[proxy] = None
        _LOANS[proxy._session] = site
        self._size = max(self._size, len(self._loans))
        self._refresh()
        return proxy

    async def _connect_through(self, hook: Callable[..., Any]) -> Connection:
        """Make a connection with the ``connect=`` callback, as asyncpg calls it."""
        connection_class = self._settings["connection_class"]
        raw = await hook(
            *self._connect_args,
            loop=self._settings["loop"] or asyncio.get_running_loop(),
            connection_class=connection_class,
            record_class=self._settings["record_class"],
            **self._connect_kwargs,
        )
        if not isinstance(raw, connection_class):
            bad = type(raw)
            bad_name = bad.__name__ if bad.__module__ == "builtins" else _qualified(bad)
            raise self._refuse(
                ClientCheckError,
                "expected pool connect callback to return an instance of "
                f"'{_qualified(connection_class)}', got '{bad_name}'",
                "the connect= callback must return the connection it made.",
            )
        if not isinstance(raw, Connection):
            raise self._refuse(
                NotSupportedError,
                f"the pool's connect= callback returned {raw!r}, which is not a connection "
                "from tripwire's asyncpg.connect(); have it call asyncpg.connect().",
                native=None,
            )
        return raw

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        self._check_sandbox("release")
        if not isinstance(connection, PoolConnectionProxy) or connection._pool is not self:
            raise self._refuse(
                ClientCheckError,
                f"Pool.release() received invalid connection: {connection!r} is not a member "
                "of this pool",
                "release() takes a connection acquired from this same pool.",
            )
        session = connection._session
        if isinstance(connection, _ReleasedProxy):
            _LOANS.pop(session, None)  # released already (or closed): nothing to do
            return
        self._check_init("release")
        if session.state == "closed":
            # asyncpg gave up on it (a non-str query): it is dropped, not reset.
            self._detach(connection)
            return
        fields: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        if session.state in ("in_transaction", "failed_transaction"):
            # asyncpg rolls back before resetting; the release records that it did.
            session.transition("rollback_on_release")
            fields["rolled_back"] = True
        try:
            reset = self._settings.get("reset")
            if reset is not None:
                await reset(connection)
            session.call("release", fields)
        except RefusalError:
            raise
        except BaseException:
            # asyncpg terminates a connection it could not reset, and releases it.
            if session.state in LIVE:
                session.transition("abort")
            self._detach(connection)
            raise
        self._detach(connection)

    def _detach(self, proxy: PoolConnectionProxy, forget: bool = True) -> None:
        """The connection goes back to the pool: its proxy refuses every call from now on."""
        proxy.__class__ = _ReleasedProxy
        self._loans.pop(proxy, None)
        if forget:
            _LOANS.pop(proxy._session, None)
        self._refresh()
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _wait_for_slot(self, timeout: float | None, what: str) -> None:
        max_size = self._settings["max_size"]
        if await self._released_within(
            lambda: len(self._loans) < max_size, RELEASE_WAIT if timeout is None else timeout
        ):
            self._ready(what)  # the pool may have closed meanwhile
            return
        if timeout is not None:
            raise asyncio.TimeoutError
        raise self._refuse(
            InvalidStateError,
            f"asyncpg.Pool.{what}() waited {RELEASE_WAIT:g} s for a free connection, but all "
            f"the pool's connections (max_size={max_size}) are acquired ({self._outstanding()}) "
            "and none was released. asyncpg would wait forever; release connections before "
            "acquiring more, raise max_size, or pass acquire(timeout=...).",
            native=None,
        )

    async def _released_within(self, done: Callable[[], bool], seconds: float) -> bool:
        """Wait until *done()*, re-checked at each release; ``False`` after *seconds*."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait((waiter,), timeout=remaining)
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return True

    def _outstanding(self) -> str:
        return ", ".join(
            f"{proxy._session.label} acquired at {_site(_LOANS.get(proxy._session))}"
            for proxy in self._loans
        )

    # Closing.

    async def close(self) -> None:
        if self._closed:
            self._check_sandbox("close")
            return
        session = self._check_init("close")
        self._closing = True
        self._refresh()
        try:
            if self._loans and not await self._released_within(
                lambda: not self._loans, RELEASE_WAIT
            ):
                raise self._refuse(
                    InvalidStateError,
                    f"asyncpg.Pool.close() waited {RELEASE_WAIT:g} s for "
                    f"{len(self._loans)} acquired connection(s) to be released: "
                    f"{self._outstanding()}. asyncpg would wait forever (with a warning after "
                    "60 s); release every connection before closing the pool (`async with "
                    "pool.acquire() as conn:` does), or call pool.terminate().",
                    native=None,
                )
        except BaseException:
            # As asyncpg: a close that fails (or is cancelled) terminates the pool.
            self._shut_down(forget=False)
            raise
        if self._closed:  # terminated while waiting
            self._closing = False
            return
        try:
            session.call("close", {})
        except RefusalError:
            self._closing = False  # refused: nothing happened
            self._refresh()
            raise
        except BaseException:
            # asyncpg marks the pool closed even when closing a connection fails.
            self._shut_down(forget=True)
            raise
        self._shut_down(forget=True)

    def terminate(self) -> None:
        if self._closed:
            self._check_sandbox("terminate")
            return
        self._check_init("terminate").call("terminate", {})
        self._shut_down(forget=True)

    def _shut_down(self, forget: bool) -> None:
        self._closed = True
        self._closing = False
        self._ready_queries = None
        self._size = 0
        for proxy in list(self._loans):
            if proxy._session.state in LIVE:
                proxy._session.transition("abort")
            self._detach(proxy, forget)

    async def expire_connections(self) -> None:
        # asyncpg only bumps a counter, whatever the pool's state.
        if self._session is None or self._closed:
            self._check_sandbox("expire_connections")
            return
        self._session.call("expire_connections", {})

    def is_closing(self) -> bool:
        self._check_sandbox("is_closing")
        return self._closed or self._closing

    # Sizes: the fake has no physical connections; these follow the arguments.

    def get_size(self) -> int:
        self._check_sandbox("get_size")
        return self._size

    def get_idle_size(self) -> int:
        self._check_sandbox("get_idle_size")
        return self._size - len(self._loans) if self._size else 0

    def get_min_size(self) -> int:
        self._check_sandbox("get_min_size")
        size: int = self._settings["min_size"]
        return size

    def get_max_size(self) -> int:
        self._check_sandbox("get_max_size")
        size: int = self._settings["max_size"]
        return size

    if hasattr(asyncpg.pool.Pool, "get_init_size"):

        def get_init_size(self) -> int:
            self._check_sandbox("get_init_size")
            return self._init_size()

    def set_connect_args(self, dsn: str | None = None, **connect_kwargs: Any) -> None:
        # Used by the connect= callback; a plain acquire has nothing to connect.
        self._check_sandbox("set_connect_args")
        self._connect_args = [dsn]
        self._connect_kwargs = connect_kwargs
        self._unknown_keyword = None
        if self._settings.get("connect") is None:
            unknown = (k for k in connect_kwargs if k not in _CONNECT_PARAMETERS)
            self._unknown_keyword = next(unknown, None)

    # Checks.

    async def _borrow(self, step: str) -> _PoolQueries:
        """What runs a shortcut, once the pool could lend it a connection."""
        self._ready(step)
        if len(self._loans) >= self._settings["max_size"]:
            await self._wait_for_slot(None, step)
        assert self._runner is not None
        return self._runner

    def _refresh(self) -> None:
        free = len(self._loans) < self._settings["max_size"]
        ready = free and not (self._closing or self._closed)
        self._ready_queries = self._runner if ready else None

    def _ready(self, what: str) -> Session:
        """The pool's session, if the pool can hand out a connection (asyncpg's order)."""
        if self._closing:
            self._check_sandbox(what)
            raise self._refuse(
                InvalidStateError,
                "pool is closing",
                f"asyncpg.Pool.{what}() was called while pool.close() waits for its "
                "connections to be released.",
            )
        return self._check_init(what)

    def _check_init(self, what: str) -> Session:
        session = self._session
        if session is not None:
            session.check_sandbox(what)
        if not self._initialized or session is None:
            raise self._refuse(
                InvalidStateError,
                "pool is not initialized",
                f"asyncpg.Pool.{what}() was called before the pool was initialised: "
                "`pool = await asyncpg.create_pool(...)` or "
                "`async with asyncpg.create_pool(...) as pool:` does it.",
            )
        if self._closed:
            raise self._refuse(
                InvalidStateError,
                "pool is closed",
                f"asyncpg.Pool.{what}() was called after the pool was closed "
                "(or after its initialisation failed).",
            )
        return session

    def _check_sandbox(self, what: str) -> None:
        if self._session is not None:
            self._session.check_sandbox(what)

    def _refuse(
        self,
        kind: type[RefusalError],
        message: str,
        note: str | None = None,
        native: type[BaseException] | None = asyncpg.InterfaceError,
    ) -> RefusalError:
        from .plugin import AsyncpgPlugin

        plugin = self._session.plugin if self._session is not None else AsyncpgPlugin.current()
        if plugin is None:  # no test to tell: raise it all the same
            error = (kind if native is None else blend_refusal(kind, native))(message)
            if note is not None:
                error.explain(note)
            return error
        return plugin.refuse(kind, message, native=native, note=note)

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and callable(getattr(asyncpg.pool.Pool, name, None)):
            return functools.partial(_unsupported, self._session, name)
        raise AttributeError(f"'Pool' object has no attribute {name!r}")


class PoolAcquireContext:
    """What ``pool.acquire()`` returns: awaitable, and an async context manager."""

    __slots__ = ("connection", "done", "pool", "timeout")

    def __init__(self, pool: Pool, timeout: float | None) -> None:
        self.pool = pool
        self.timeout = timeout
        self.connection: PoolConnectionProxy | None = None
        self.done = False

    async def __aenter__(self) -> PoolConnectionProxy:
        if self.connection is not None or self.done:
            self.pool._check_sandbox("acquire")
            raise self.pool._refuse(
                ClientCheckError,
                "a connection is already acquired",
                "a PoolAcquireContext gives one connection: call pool.acquire() again for another.",
            )
        self.connection = await self.pool._acquire(self.timeout)
        return self.connection

    async def __aexit__(
        self, exc_type: Any = None, exc_val: Any = None, exc_tb: Any = None
    ) -> None:
        self.done = True
        connection, self.connection = self.connection, None
        await self.pool.release(connection)

    def __await__(self) -> Any:
        self.done = True
        return self.pool._acquire(self.timeout).__await__()


class PoolConnectionProxy(Connection):
    """A connection acquired from a pool: ``isinstance(conn, asyncpg.Connection)`` holds."""

    def __init__(self, session: Session, info: ServerInfo | None, pool: Pool) -> None:
        self._pool = pool
        super().__init__(session, info)

    def __repr__(self) -> str:
        return f"<PoolConnectionProxy {super().__repr__()} {id(self):#x}>"

    def _closed(self) -> None:
        super()._closed()
        # Closing a pooled connection hands it back to its pool, as in asyncpg.
        self._pool._detach(self)


class _ReleasedProxy(PoolConnectionProxy):
    """A proxy after release: every asyncpg method refuses at call time, as asyncpg's."""

    def __repr__(self) -> str:
        return f"<PoolConnectionProxy [released] {id(self):#x}>"

    def _refuse_released(self, name: str) -> RefusalError:
        session = self._session
        session.check_sandbox(name)
        return session.plugin.refuse(
            InvalidStateError,
            f"{session.label}: {name}() was called on a pooled connection after it went back "
            "to the pool; acquire a connection again to use one.",
            state="released",
            step=name,
        )


def _refuse_every_method() -> None:
    # asyncpg's proxy checks at call time, even for coroutine methods, so
    # each of asyncpg.Connection's methods becomes a plain function that raises.
    for name in dir(asyncpg.Connection):
        if not name.startswith("_") and inspect.isfunction(getattr(asyncpg.Connection, name)):
            setattr(_ReleasedProxy, name, _released_method(name))


def _released_method(name: str) -> Callable[..., Any]:
    def method(self: _ReleasedProxy, *args: Any, **kwargs: Any) -> Any:
        raise self._refuse_released(name)

    method.__name__ = name
    method.__qualname__ = f"_ReleasedProxy.{name}"
    return method


_refuse_every_method()


class _PoolQueries(Connection):
    """Connection's query methods, run as the pool's shortcuts on the pool's session.

    Each shortcut uses a connection of its own, so nothing overlaps, and the
    transaction a shortcut opens ends at its release.
    """

    def _call(self, step: str, fields: dict[str, Any]) -> Any:
        return self._session.call(step, fields)

    def _after_simple_query(self, query: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and callable(getattr(asyncpg.pool.Pool, name, None)):
            return functools.partial(_unsupported, self._session, name)
        raise AttributeError(f"'Pool' object has no attribute {name!r}")


def _unsupported(session: Session | None, name: str, *args: Any, **kwargs: Any) -> Any:
    from .plugin import AsyncpgPlugin

    message = (
        f"asyncpg.Pool.{name}() is not supported by tripwire's asyncpg fake; tripwire refuses "
        "it rather than return a silent mock."
    )
    plugin = session.plugin if session is not None else AsyncpgPlugin.current()
    if plugin is None:
        raise NotSupportedError(message)
    raise plugin.refuse(NotSupportedError, message)


def _keywords(arguments: dict[str, Any], *positional: str) -> dict[str, Any]:
    return {k: v for k, v in arguments.items() if k != "self" and k not in positional}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def _call_site() -> tuple[str, int]:
    """File and line of the code that acquired, outside tripwire (no formatting)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__", "").partition(".")[0] not in _OWN_PACKAGES:
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0


def _site(site: tuple[str, int] | None) -> str:
    return "an unknown place" if site is None or not site[1] else f"{site[0]}:{site[1]}"


class PoolAssertions(Assertions):
    """Typed ``assert_*`` helpers for pool steps.

    Pool shortcuts are asserted with the connection helpers
    (``assert_fetch`` and friends): they record the same fields.
    """

    def assert_create_pool(self, **fields: Any) -> None:
        """Assert the next ``create_pool``: pass whichever arguments the code used."""
        __tracebackhide__ = True
        self.assert_step("create_pool", **fields)

    def assert_acquire(self, *, timeout: Any = NOTHING) -> None:
        """Assert the next ``acquire`` (``timeout`` only if the code passed one)."""
        __tracebackhide__ = True
        self.assert_step("acquire", **given(timeout=timeout))

    def assert_release(self, *, timeout: Any = NOTHING, rolled_back: Any = NOTHING) -> None:
        """Assert the next ``release``; ``rolled_back=True`` if it ended a transaction."""
        __tracebackhide__ = True
        self.assert_step("release", **given(timeout=timeout, rolled_back=rolled_back))

    def assert_expire_connections(self) -> None:
        """Assert the next ``expire_connections()``."""
        __tracebackhide__ = True
        self.assert_step("expire_connections")

    def assert_terminate(self) -> None:
        """Assert the next ``terminate()`` (of a connection or a pool)."""
        __tracebackhide__ = True
        self.assert_step("terminate")


def unreleased(plugin: AsyncpgPlugin) -> list[str]:
    """Pooled connections never released, one line each.

    Pools left open are not counted: an application may keep its pool for
    the life of the process, and a test that scripts ``close`` is told by
    UnusedMocksError when the code does not close it.
    """
    return [
        f"{session.label}: the connection acquired from a pool at {_site(_LOANS[session])} "
        "was never released; use `async with pool.acquire() as conn:` or "
        "`await pool.release(conn)`."
        for session in plugin.sessions
        if session in _LOANS
    ]
