"""Refusals worded for ``asyncpg.Pool``, shared by the pool's modules.

A pool exists before it has a session (``create_pool()`` takes one only when
the pool initialises), so these fall back to the plugin of the running
test, and to a plain error when there is none.
"""

from __future__ import annotations

import functools
from typing import Any

import asyncpg
import asyncpg.pool

from tripwire_core import NotSupportedError, RefusalError, Session, blend_refusal

from ._checks import not_supported

__all__ = ["refuse", "refuse_unsupported", "unsupported_attribute"]


def refuse(
    session: Session | None,
    kind: type[RefusalError],
    message: str,
    note: str | None = None,
    native: type[BaseException] | None = asyncpg.InterfaceError,
) -> RefusalError:
    """A refusal of a pool's call, recorded by the test of its *session* (for you to raise)."""
    from .plugin import AsyncpgPlugin

    plugin = session.plugin if session is not None else AsyncpgPlugin.current()
    if plugin is None:  # no test to tell: raise it all the same
        error = (kind if native is None else blend_refusal(kind, native))(message)
        if note is not None:
            error.explain(note)
        return error
    return plugin.refuse(kind, message, native=native, note=note)


def refuse_unsupported(session: Session | None, name: str, *args: Any, **kwargs: Any) -> Any:
    """Raise for ``asyncpg.Pool.<name>()``, a method the fake does not implement."""
    raise refuse(
        session,
        NotSupportedError,
        not_supported("Pool", name),
        native=None,
    )


def unsupported_attribute(owner: Any, name: str) -> Any:
    """``__getattr__`` of the pool's fakes: asyncpg.Pool's other methods refuse when called.

    *owner*'s ``_session`` is read only for a public name, so that a private
    attribute not yet set raises AttributeError instead of recursing.
    """
    if not name.startswith("_") and callable(getattr(asyncpg.pool.Pool, name, None)):
        return functools.partial(refuse_unsupported, owner._session, name)
    raise AttributeError(f"'Pool' object has no attribute {name!r}")
