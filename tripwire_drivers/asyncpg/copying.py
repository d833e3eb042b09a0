"""COPY: ``copy_records_to_table``, ``copy_to_table``, ``copy_from_table``, ``copy_from_query``.

(Stub: to be implemented.)
"""

from __future__ import annotations

from tripwire_core import Session

__all__ = ["CopyMethods"]


class CopyMethods:
    """Mixin of the fake connection."""

    _session: Session
