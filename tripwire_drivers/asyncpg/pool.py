"""Pools: ``asyncpg.create_pool()``, and the :class:`Pool` it returns.

A pool is a session of its own (queue ``"pool"``): ``create_pool`` when it
initialises, then its shortcut queries, then ``close`` or ``terminate``.
Each acquire takes the next *connection* session (the default queue) and
runs its ``acquire`` step; the connection's script ends with ``release``.
One acquire is one session, so ``min_size`` and connection reuse are not
modelled: a test scripts what the code does with each connection it gets.

Here: the pool's life and its checks.  Its steps are in :mod:`.pool_steps`,
its arguments in :mod:`.pool_settings`, its shortcuts in
:mod:`.pool_shortcuts`, its connections in :mod:`.loans` and :mod:`.pooled`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import asyncpg.pool

from tripwire_core import (
    ClientCheckError,
    InvalidStateError,
    RefusalError,
    Session,
)

from ._pool_refusals import refuse, unsupported_attribute
from .loans import Loans, unreleased
from .pool_settings import connect_keywords, pool_settings
from .pool_shortcuts import PoolShortcuts, ShortcutQueries
from .pool_steps import POOL_ERRORS, POOL_STEPS, PoolAssertions
from .pooled import PoolConnectionProxy, is_released, lender

__all__ = [
    # Defined here.
    "RELEASE_WAIT",
    "Pool",
    "PoolAcquireContext",
    "fake_create_pool",
    # Defined in .pool_steps and .loans; the plugin imports them from here.
    "POOL_ERRORS",
    "POOL_STEPS",
    "PoolAssertions",
    "unreleased",
]

#: Seconds the fake waits for another task to release a connection (for
#: ``close()``, or an ``acquire()`` without timeout on an exhausted pool)
#: before refusing: asyncpg would wait forever.
RELEASE_WAIT = 1.0

# The line that scripts a pool, shown when none is queued.
_POOL_HINT = 'tripwire.asyncpg.new_pool().expect("create_pool", returns=None)'
_VERSION = tuple(int(part) for part in asyncpg.__version__.split(".")[:2])


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


class Pool(PoolShortcuts):
    """A scripted stand-in for ``asyncpg.pool.Pool``."""

    __slots__ = (
        "_closed",
        "_closing",
        "_fields",
        "_initialized",
        "_loans",
        "_ready_queries",
        "_runner",
        "_session",
        "_settings",
        "_size",
    )

    def __init__(self, passed: dict[str, Any]) -> None:
        self._settings = pool_settings(passed)
        self._fields = passed
        self._session: Session | None = None
        self._runner: ShortcutQueries | None = None
        self._ready_queries = None
        self._initialized = self._closing = self._closed = False
        # The connections lent and not back; each return re-checks the fast path.
        self._loans = Loans(self, self._settings, self._refresh)
        self._size = 0
        self.set_connect_args(passed.get("dsn"), **connect_keywords(passed))

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
        unknown = self._loans.unknown_keyword
        if unknown is not None and self._init_size():
            # The first connection fails before reaching any server.
            self._initialized = self._closed = True
            raise TypeError(f"connect() got an unexpected keyword argument {unknown!r}")
        from .plugin import AsyncpgPlugin

        session = AsyncpgPlugin.start_session("create_pool", queue="pool", hint=_POOL_HINT)
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
        self._runner = ShortcutQueries(session)
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
            # asyncpg's compat wait_for raises the builtin TimeoutError for a
            # timeout <= 0 (the same class as asyncio's from 3.11).
            raise TimeoutError
        if len(self._loans) >= self._settings["max_size"]:
            await self._wait_for_slot(timeout, "acquire")
        proxy = await self._loans.lend(session, timeout)
        self._size = max(self._size, len(self._loans))
        self._refresh()
        return proxy

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        self._check_sandbox("release")
        if lender(connection) is not self:
            raise self._refuse(
                ClientCheckError,
                f"Pool.release() received invalid connection: {connection!r} is not a member "
                "of this pool",
                "release() takes a connection acquired from this same pool.",
            )
        if is_released(connection):
            self._loans.forget(connection)  # released already (or closed): nothing to do
            return
        self._check_init("release")
        await self._loans.take_back(connection, timeout)

    async def _wait_for_slot(self, timeout: float | None, what: str) -> None:
        max_size = self._settings["max_size"]
        if await self._loans.returned_within(
            lambda: len(self._loans) < max_size, RELEASE_WAIT if timeout is None else timeout
        ):
            self._ready(what)  # the pool may have closed meanwhile
            return
        if timeout is not None:
            # A positive timeout runs out in asyncpg's timeout context:
            # asyncio's TimeoutError (a distinct class up to 3.10).
            raise asyncio.TimeoutError
        raise self._refuse(
            InvalidStateError,
            f"asyncpg.Pool.{what}() waited {RELEASE_WAIT:g} s for a free connection, but all "
            f"the pool's connections (max_size={max_size}) are acquired "
            f"({self._loans.describe()}) and none was released. asyncpg would wait forever; "
            "release connections before acquiring more, raise max_size, or pass "
            "acquire(timeout=...).",
            native=None,
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
            if self._loans and not await self._loans.returned_within(
                lambda: not self._loans, RELEASE_WAIT
            ):
                raise self._refuse(
                    InvalidStateError,
                    f"asyncpg.Pool.close() waited {RELEASE_WAIT:g} s for "
                    f"{len(self._loans)} acquired connection(s) to be released: "
                    f"{self._loans.describe()}. asyncpg would wait forever (with a warning after "
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
        self._loans.cut_off(forget)

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
        self._loans.connect_with(dsn, connect_kwargs)

    # Checks.

    async def _borrow(self, step: str) -> ShortcutQueries:
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
        return refuse(self._session, kind, message, note, native)

    def __getattr__(self, name: str) -> Any:
        return unsupported_attribute(self, name)


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
