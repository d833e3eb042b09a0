"""The asyncpg driver: its state machine, interception and assertions."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import asyncpg
import asyncpg.connection

from tripwire_core import (
    NOTHING,
    DriverPlugin,
    FunctionCodePatch,
    NativeErrors,
    Patch,
    Step,
)

from .connection import Connection
from .records import to_record, to_records

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


_QUERY = ("query", "args")


class AsyncpgPlugin(DriverPlugin):
    """Scripts and verifies asyncpg connections.

    ``new_session()`` queues a session; each ``asyncpg.connect()`` made in a
    sandbox takes the next one.  The ``assert_*`` helpers assert the
    recorded interactions in order.
    """

    name = "asyncpg"
    states = ("disconnected", "connected", "closed")
    initial = "disconnected"
    library = "asyncpg"
    steps = (
        Step("connect", "disconnected", "connected", (), _none, "None"),
        Step("execute", "connected", None, _QUERY, _status, "a status str such as 'INSERT 0 1'"),
        Step("fetch", "connected", None, _QUERY, to_records, "a list of dicts (rows)"),
        Step("fetchrow", "connected", None, _QUERY, _row_or_none, "a dict (one row) or None"),
        Step("fetchval", "connected", None, _QUERY, _any, "any single value"),
        Step("close", "connected", "closed", (), _none, "None"),
        # What asyncpg does by itself when it gives up on a connection.
        Step("abort", "connected", "closed", scripted=False),
    )
    native_errors: ClassVar[NativeErrors] = {
        "closed": (asyncpg.InterfaceError, "connection is closed"),
    }

    def patches(self) -> Sequence[Patch]:
        # Swapping the code of asyncpg's connect() reaches every alias,
        # including `from asyncpg import connect` run before the sandbox.
        return (FunctionCodePatch(asyncpg.connection.connect, _connect),)

    # Typed assertion helpers, one per step.

    def assert_connect(self, **fields: Any) -> None:
        """Assert the next ``connect``: pass whichever parameters the code used."""
        __tracebackhide__ = True
        self.assert_step("connect", **fields)

    def assert_execute(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``execute(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("execute", **_given(query, args, extra))

    def assert_fetch(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``fetch(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("fetch", **_given(query, args, extra))

    def assert_fetchrow(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``fetchrow(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("fetchrow", **_given(query, args, extra))

    def assert_fetchval(self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``fetchval(query, *args)``."""
        __tracebackhide__ = True
        self.assert_step("fetchval", **_given(query, args, extra))

    def assert_close(self, **extra: Any) -> None:
        """Assert the next ``close()``."""
        __tracebackhide__ = True
        self.assert_step("close", **extra)


def _given(query: Any, args: Any, extra: dict[str, Any]) -> dict[str, Any]:
    given = dict(extra)
    if query is not NOTHING:
        given["query"] = query
    if args is not NOTHING:
        given["args"] = args
    return given


_CONNECT_SIGNATURE = inspect.signature(asyncpg.connection.connect)


async def _connect(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        bound = _CONNECT_SIGNATURE.bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"connect() {exc}") from None
    session = AsyncpgPlugin.start_session("connect")
    session.call("connect", dict(bound.arguments))
    return Connection(session)
