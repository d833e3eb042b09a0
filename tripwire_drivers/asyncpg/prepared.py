"""Prepared statements: ``conn.prepare()`` and the statement it returns.

(Stub: to be implemented.)
"""

from __future__ import annotations

from tripwire_core import Session, Step

from ._assertions import Assertions
from ._steps import OPEN, none

__all__ = ["PREPARED_STEPS", "PreparedMethods", "PreparedAssertions"]

PREPARED_STEPS = (Step("prepare", OPEN, None, ("query",), none, "None"),)


class PreparedMethods:
    """Mixin of the fake connection."""

    _session: Session


class PreparedAssertions(Assertions):
    """Typed ``assert_*`` helpers."""
