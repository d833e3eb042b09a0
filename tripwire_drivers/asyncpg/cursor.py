"""Cursors: ``conn.cursor()``, iterated with ``async for`` or awaited.

(Stub: to be implemented.)
"""

from __future__ import annotations

from tripwire_core import Session

__all__ = ["CursorMethods"]


class CursorMethods:
    """Mixin of the fake connection."""

    _session: Session
