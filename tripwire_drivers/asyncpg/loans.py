"""A pool's loans: the connections it lends, where each went, and their return.

Each acquire takes the next connection session (or, with ``connect=``, the
connection that callback makes), runs the pool's ``init``/``setup`` hooks,
and lends it as a :class:`~.pooled.PoolConnectionProxy`; a release rolls
back, resets and runs the ``release`` step.  Where each connection still
out was acquired is kept by session, so that :func:`unreleased` can name it
at the end of the test.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from tripwire_core import ClientCheckError, NotSupportedError, RefusalError, Session

from ._pool_refusals import refuse
from ._steps import LIVE
from .connection import Connection
from .listeners import release_listeners
from .pool_settings import unknown_keyword
from .pooled import PoolConnectionProxy, retire

if TYPE_CHECKING:
    from .plugin import AsyncpgPlugin
    from .pool import Pool

__all__ = ["Loans", "unreleased"]

# The line that scripts an acquire, shown when none is queued.
_ACQUIRE_HINT = 'tripwire.asyncpg.new_session().expect("acquire", returns=None)'
_OWN_PACKAGES = frozenset({"tripwire", "tripwire_core", "tripwire_drivers"})

# Where each connection still out of its pool was acquired, by session.
_SITES: weakref.WeakKeyDictionary[Session, tuple[str, int]] = weakref.WeakKeyDictionary()


class Loans:
    """The connections one pool has lent: it makes them, tracks them, takes them back.

    *on_change* runs each time a connection comes back, for the pool to
    re-check whether it can lend another.
    """

    __slots__ = (
        "_connect_args",
        "_connect_kwargs",
        "_on_change",
        "_out",
        "_pool",
        "_settings",
        "_waiters",
        "unknown_keyword",
    )

    def __init__(self, pool: Pool, settings: dict[str, Any], on_change: Callable[[], None]) -> None:
        self._pool = pool
        self._settings = settings
        self._on_change = on_change
        self._out: dict[PoolConnectionProxy, None] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._connect_args: list[Any] = [None]
        self._connect_kwargs: dict[str, Any] = {}
        # The keyword connect() would refuse, if any: the first acquire raises it.
        self.unknown_keyword: str | None = None

    def __len__(self) -> int:
        return len(self._out)

    def connect_with(self, dsn: str | None, connect_kwargs: dict[str, Any]) -> None:
        """The arguments for the ``connect=`` callback (``pool.set_connect_args()``)."""
        self._connect_args = [dsn]
        self._connect_kwargs = connect_kwargs
        self.unknown_keyword = unknown_keyword(self._settings, connect_kwargs)

    # Lending.

    async def lend(self, session: Session, timeout: float | None) -> PoolConnectionProxy:
        """A connection for the pool of *session*: made, set up, and counted as out."""
        site = _call_site()
        settings = self._settings
        hook = settings.get("connect")
        if hook is None:
            if self.unknown_keyword is not None:
                raise TypeError(
                    f"connect() got an unexpected keyword argument {self.unknown_keyword!r}"
                )
            connection = session.plugin.open_session("Pool.acquire", hint=_ACQUIRE_HINT)
            info = connection.call("acquire", {} if timeout is None else {"timeout": timeout})
            proxy = raw = PoolConnectionProxy(connection, info, self._pool, self.end)
        else:
            raw = await self._connect_through(hook, session)
            proxy = PoolConnectionProxy(raw._session, raw._info, self._pool, self.end)
        try:
            if settings["init"] is not None:
                await settings["init"](raw)
            if settings["setup"] is not None:
                await settings["setup"](proxy)
        except BaseException:
            # asyncpg closes a connection whose init or setup failed.
            if proxy._session.state in LIVE:
                proxy._session.transition("abort")
            raise
        self._out[proxy] = None
        _SITES[proxy._session] = site
        return proxy

    async def _connect_through(self, hook: Callable[..., Any], session: Session) -> Connection:
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
            raise refuse(
                session,
                ClientCheckError,
                "expected pool connect callback to return an instance of "
                f"'{_qualified(connection_class)}', got '{bad_name}'",
                "the connect= callback must return the connection it made.",
            )
        if not isinstance(raw, Connection):
            raise refuse(
                session,
                NotSupportedError,
                f"the pool's connect= callback returned {raw!r}, which is not a connection "
                "from tripwire's asyncpg.connect(); have it call asyncpg.connect().",
                native=None,
            )
        return raw

    # Taking back.

    async def take_back(self, proxy: PoolConnectionProxy, timeout: float | None) -> None:
        """What ``pool.release()`` does to a connection still out: reset it, release it."""
        session = proxy._session
        if session.state == "closed":
            # asyncpg gave up on it (a non-str query): it is dropped, not reset.
            self.end(proxy)
            return
        fields: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        if session.state in ("in_transaction", "failed_transaction"):
            # asyncpg rolls back before resetting; the release records that it did.
            session.transition("rollback_on_release")
            fields["rolled_back"] = True
        # asyncpg warns about listeners still registered, then drops them.
        release_listeners(proxy)
        try:
            reset = self._settings.get("reset")
            if reset is not None:
                await reset(proxy)
            session.call("release", fields)
        except RefusalError:
            raise
        except BaseException:
            # asyncpg terminates a connection it could not reset, and releases it.
            if session.state in LIVE:
                session.transition("abort")
            self.end(proxy)
            raise
        self.end(proxy)

    def end(self, proxy: PoolConnectionProxy, forget: bool = True) -> None:
        """The connection is back in the pool: its proxy refuses every call from now on.

        *forget* False keeps it reported as never released (a ``close()``
        that gave up waiting for it).
        """
        retire(proxy)
        self._out.pop(proxy, None)
        if forget:
            _SITES.pop(proxy._session, None)
        self._on_change()
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def forget(self, proxy: PoolConnectionProxy) -> None:
        """Stop reporting *proxy* as never released: it went back already."""
        _SITES.pop(proxy._session, None)

    def cut_off(self, forget: bool) -> None:
        """The pool shuts down: each connection still out is aborted and taken back."""
        for proxy in list(self._out):
            if proxy._session.state in LIVE:
                proxy._session.transition("abort")
            self.end(proxy, forget)

    # Waiting for a connection to come back.

    async def returned_within(self, done: Callable[[], bool], seconds: float) -> bool:
        """Wait until *done()*, re-checked at each return; ``False`` after *seconds*."""
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

    def describe(self) -> str:
        """Each connection still out, and where it was acquired."""
        return ", ".join(
            f"{proxy._session.label} acquired at {_site(_SITES.get(proxy._session))}"
            for proxy in self._out
        )


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


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def unreleased(plugin: AsyncpgPlugin) -> list[str]:
    """Pooled connections never released, one line each.

    Pools left open are not counted: an application may keep its pool for
    the life of the process, and a test that scripts ``close`` is told by
    UnusedMocksError when the code does not close it.
    """
    return [
        f"{session.label}: the connection acquired from a pool at {_site(_SITES[session])} "
        "was never released; use `async with pool.acquire() as conn:` or "
        "`await pool.release(conn)`."
        for session in plugin.sessions
        if session in _SITES
    ]
