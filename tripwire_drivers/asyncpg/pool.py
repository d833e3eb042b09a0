"""Pools: ``asyncpg.create_pool()``, acquire and release.

(Stub: to be implemented.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import asyncpg

from tripwire_core import NativeErrors, NotSupportedError, Step

from ._assertions import Assertions
from ._steps import LIVE, none

if TYPE_CHECKING:
    from .plugin import AsyncpgPlugin

__all__ = [
    "POOL_ERRORS",
    "POOL_STEPS",
    "PoolAssertions",
    "fake_create_pool",
    "unreleased",
]

POOL_STEPS = (
    Step("acquire", "disconnected", "connected", (), none, "None"),
    Step("release", LIVE, "released", (), none, "None"),
    Step("create_pool", "pool_new", "pool_ready", (), none, "None"),
    Step("close", "pool_ready", "pool_closed", (), none, "None"),
    Step("terminate", "pool_ready", "pool_closed", (), none, "None"),
    Step("expire_connections", "pool_ready", None, (), none, "None"),
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
    """Typed ``assert_*`` helpers for pool steps."""


def fake_create_pool(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Stands in for ``asyncpg.create_pool`` while a sandbox is open."""
    from .plugin import AsyncpgPlugin

    plugin = AsyncpgPlugin.current()
    message = "asyncpg.create_pool() is not supported by tripwire's asyncpg fake yet"
    if plugin is None:
        raise NotSupportedError(message)
    raise plugin.refuse(NotSupportedError, message)


def unreleased(plugin: AsyncpgPlugin) -> list[str]:
    """Pooled connections never released, one line each."""
    return []
