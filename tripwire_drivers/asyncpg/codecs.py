"""Type codecs and session resets: ``set_type_codec``, ``reset`` and friends.

(Stub: to be implemented.)
"""

from __future__ import annotations

from tripwire_core import Session, Step

from ._assertions import Assertions
from ._steps import LIVE, OPEN, none

__all__ = ["CODEC_STEPS", "CodecMethods", "CodecAssertions"]

CODEC_STEPS = (
    Step("set_type_codec", OPEN, None, ("typename",), none, "None"),
    Step("set_builtin_type_codec", OPEN, None, ("typename",), none, "None"),
    Step("reset_type_codec", OPEN, None, ("typename",), none, "None"),
    Step("reload_schema_state", OPEN, None, (), none, "None"),
    Step("reset", LIVE, "connected", (), none, "None"),
)


class CodecMethods:
    """Mixin of the fake connection."""

    _session: Session


class CodecAssertions(Assertions):
    """Typed ``assert_*`` helpers."""
