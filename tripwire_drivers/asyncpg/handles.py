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

    def notify(self, channel: str, payload: str = "", *, pid: int | None = None) -> Self:
        """Deliver a NOTIFY on *channel* right after the last expected step.

        The connection's listeners for *channel* receive it as asyncpg
        delivers it: from the event loop, before the call returns.  *pid* is
        the sending backend's (by default the connection's own).
        """
        from .listeners import check_notification, deliver

        check_notification(channel, payload, pid)
        session = self.session
        return self.then(lambda: deliver(session, channel, payload, pid))

    def log(self, severity: str, message: str, *, sqlstate: str | None = None) -> Self:
        """Deliver a server log message (``RAISE NOTICE``) right after the last step.

        The connection's log listeners receive it as an asyncpg
        ``PostgresLogMessage`` (a ``PostgresWarning`` for ``WARNING``).
        """
        from .listeners import deliver_log

        session = self.session
        return self.then(lambda: deliver_log(session, severity, message, sqlstate=sqlstate))


class PoolHandle(CoreSessionHandle):
    """Scripts one pool: ``create_pool``, its shortcut queries, ``close``."""

    __slots__ = ()
