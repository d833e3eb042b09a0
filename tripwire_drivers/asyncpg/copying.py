"""COPY: ``copy_records_to_table``, ``copy_to_table``, ``copy_from_table``, ``copy_from_query``.

(Stub: to be implemented.)
"""

from __future__ import annotations

from tripwire_core import Session, Step

from ._assertions import Assertions
from ._steps import OPEN, status

__all__ = ["COPY_STEPS", "CopyMethods", "CopyAssertions"]

# COPY is legal on a connection and, as a pool shortcut, on a pool.
USABLE = (*OPEN, "pool_ready")

COPY_STEPS = (
    Step("copy_from_table", USABLE, None, ("table_name",), status, "a status str COPY n"),
    Step("copy_from_query", USABLE, None, ("query", "args"), status, "a status str COPY n"),
    Step("copy_to_table", USABLE, None, ("table_name",), status, "a status str COPY n"),
    Step(
        "copy_records_to_table",
        USABLE,
        None,
        ("table_name", "records"),
        status,
        "a status str COPY n",
    ),
)


class CopyMethods:
    """Mixin of the fake connection."""

    _session: Session


class CopyAssertions(Assertions):
    """Typed ``assert_*`` helpers."""
