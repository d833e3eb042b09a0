"""Type codecs and session resets: ``set_type_codec``, ``reset`` and friends.

(Stub: to be implemented.)
"""

from __future__ import annotations

from tripwire_core import Session

__all__ = ["CodecMethods"]


class CodecMethods:
    """Mixin of the fake connection."""

    _session: Session
