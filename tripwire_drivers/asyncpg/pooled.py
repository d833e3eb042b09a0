"""Pooled connections: the proxies a pool lends, and what they become once released.

A :class:`PoolConnectionProxy` is a fake connection on the session of one
acquire (``isinstance(conn, asyncpg.Connection)`` holds, as for asyncpg's
proxy).  Once released it turns into a proxy whose every asyncpg method
refuses when called, as asyncpg's detached proxy does.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import asyncpg

from tripwire_core import InvalidStateError, RefusalError, Session

from .connection import Connection
from .server import ServerInfo

if TYPE_CHECKING:
    from .pool import Pool

__all__ = ["PoolConnectionProxy", "is_released", "lender", "retire"]


class PoolConnectionProxy(Connection):
    """A connection acquired from a pool: ``isinstance(conn, asyncpg.Connection)`` holds.

    *on_close* hands it back to its pool once it is closed, as asyncpg does.
    """

    def __init__(
        self,
        session: Session,
        info: ServerInfo | None,
        pool: Pool,
        on_close: Callable[[PoolConnectionProxy], None],
    ) -> None:
        self._pool = pool
        self._on_close = on_close
        super().__init__(session, info)

    def __repr__(self) -> str:
        return f"<PoolConnectionProxy {super().__repr__()} {id(self):#x}>"

    def _closed(self) -> None:
        super()._closed()
        # Closing a pooled connection hands it back to its pool, as in asyncpg.
        self._on_close(self)


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


def lender(connection: Any) -> Pool | None:
    """The pool *connection* was acquired from, if it is a pooled connection."""
    return connection._pool if isinstance(connection, PoolConnectionProxy) else None


def is_released(proxy: PoolConnectionProxy) -> bool:
    """Whether *proxy* went back to its pool (released, or closed)."""
    return isinstance(proxy, _ReleasedProxy)


def retire(proxy: PoolConnectionProxy) -> None:
    """*proxy* went back to its pool: every call refuses from now on."""
    proxy.__class__ = _ReleasedProxy
