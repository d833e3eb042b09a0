"""Pools: ``asyncpg.create_pool()``, acquire and release.

(Stub: to be implemented.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tripwire_core import NotSupportedError

if TYPE_CHECKING:
    from .plugin import AsyncpgPlugin

__all__ = ["fake_create_pool", "unreleased"]


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
