"""What a test holds to script asyncpg sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tripwire_core import SessionHandle as CoreSessionHandle

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["PoolHandle", "SessionHandle"]


class SessionHandle(CoreSessionHandle):
    """Scripts one connection (from ``connect()`` or a pool's acquire)."""

    __slots__ = ()

    def notify(self, channel: str, payload: str = "", *, pid: int = 0) -> Self:
        """Deliver a NOTIFY on *channel* right after the last expected step.

        The connection's listeners for *channel* receive it as asyncpg
        delivers it: soon after, from the event loop.
        """
        from .listeners import deliver

        session = self.session
        return self.then(lambda: deliver(session, channel, payload, pid))


class PoolHandle(CoreSessionHandle):
    """Scripts one pool: ``create_pool``, its shortcut queries, ``close``."""

    __slots__ = ()
