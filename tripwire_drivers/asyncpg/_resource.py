"""What the connection's resources share: prepared statements and cursors.

asyncpg hands these out from a connection and checks the connection each
time one of their methods is called; they also pass ``timeout=`` straight to
the protocol.  The fakes subclass asyncpg's classes, so each also needs a
refusing stand-in for any method it does not implement.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from tripwire_core import InvalidStateError, NotSupportedError, RefusalError, Session

from ._checks import not_supported

__all__ = ["connection_gone", "guard", "raw_timeout", "raw_timeout_checked", "refuse_unimplemented"]


def guard(session: Session, owner: str, method: str) -> None:
    """asyncpg's check before any method of a statement or cursor runs.

    It runs at call time, before a coroutine exists, as asyncpg's
    ``connresource.guarded`` wrapper does.
    """
    session.check_sandbox(f"{owner}.{method}")
    state = session.state
    if state == "closed" or state == "released":
        raise connection_gone(
            session,
            owner,
            method,
            f"{session.label} is in state {state!r}; the {owner} came from it.",
        )


def connection_gone(session: Session, owner: str, method: str, note: str) -> RefusalError:
    """asyncpg's refusal of *owner*.*method*() once its connection is closed or released."""
    released = session.state == "released"
    why = "has been released back to the pool" if released else "is closed"
    return session.plugin.refuse(
        InvalidStateError,
        f"cannot call {owner}.{method}(): the underlying connection {why}",
        native=asyncpg.InterfaceError,
        note=note,
    )


def raw_timeout(timeout: Any) -> None:
    """Raise as asyncpg's protocol does for a ``timeout=`` passed straight to it.

    Statements and cursors skip the connection's friendlier check, so a
    ``'x'`` fails in ``float()`` itself.
    """
    if timeout is not None and float(timeout) <= 0:
        raise asyncio.TimeoutError


def raw_timeout_checked(session: Session, step: str, timeout: Any, fields: dict[str, Any]) -> None:
    """:func:`raw_timeout` for a step's call: a refused value still checks the step."""
    try:
        raw_timeout(timeout)
    except BaseException:
        session.check(step, fields)
        raise


def refuse_unimplemented(fake: type, real: type) -> None:
    """Give *fake* a refusing stand-in for each public method of *real* it lacks.

    The fakes subclass asyncpg's classes (so ``isinstance`` holds); without
    this, a method added by a newer asyncpg would run asyncpg's own code on
    a fake object.  The fake's instances must have a ``_session``.
    """
    own = {name for cls in fake.__mro__ if cls not in real.__mro__ for name in vars(cls)}
    for name in dir(real):
        if not name.startswith("_") and name not in own:
            setattr(fake, name, _unsupported(real.__name__, name))


def _unsupported(owner: str, name: str) -> Any:
    def refused(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise self._session.plugin.refuse(
            NotSupportedError,
            not_supported(owner, name),
        )

    refused.__name__ = name
    return refused
