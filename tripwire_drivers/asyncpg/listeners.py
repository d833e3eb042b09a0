"""Listeners: ``add_listener`` and scripted NOTIFY deliveries.

(Stub: to be implemented.)
"""

from __future__ import annotations

from tripwire_core import Session

__all__ = ["ListenerMethods", "deliver"]


class ListenerMethods:
    """Mixin of the fake connection."""

    _session: Session


def deliver(session: Session, channel: str, payload: str, pid: int) -> None:
    """Hand a scripted NOTIFY to the listeners of *session*'s connection."""
    raise NotImplementedError
