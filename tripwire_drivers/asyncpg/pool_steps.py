"""The pool steps, the native errors of the pool's states, and their assertions.

A pool's own session runs ``create_pool``, then its shortcut queries, then
``close`` or ``terminate``; each acquired connection's session runs
``acquire`` first and ``release`` last.  The unscripted steps are what
asyncpg does by itself.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from tripwire_core import NOTHING, NativeErrors, Step

from ._assertions import Assertions
from ._steps import LIVE, given, none
from .server import server_info

__all__ = ["POOL_ERRORS", "POOL_STEPS", "PoolAssertions"]

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
