"""Listeners: ``add_listener`` and scripted NOTIFY deliveries.

(Stub: to be implemented.)
"""

from __future__ import annotations

from tripwire_core import Session, Step

from ._assertions import Assertions
from ._steps import OPEN, none

__all__ = ["LISTENER_STEPS", "ListenerMethods", "ListenerAssertions", "deliver"]

LISTENER_STEPS = (
    Step("add_listener", OPEN, None, ("channel", "callback"), none, "None"),
    Step("remove_listener", OPEN, None, ("channel", "callback"), none, "None"),
)


class ListenerMethods:
    """Mixin of the fake connection."""

    _session: Session


class ListenerAssertions(Assertions):
    """Typed ``assert_*`` helpers."""


def deliver(session: Session, channel: str, payload: str, pid: int) -> None:
    """Hand a scripted NOTIFY to the listeners of *session*'s connection."""
    raise NotImplementedError
