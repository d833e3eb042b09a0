"""Prepared statements: ``conn.prepare()`` and the statement it returns.

(Stub: to be implemented.)
"""

from __future__ import annotations

from tripwire_core import Session

__all__ = ["PreparedMethods"]


class PreparedMethods:
    """Mixin of the fake connection."""

    _session: Session
