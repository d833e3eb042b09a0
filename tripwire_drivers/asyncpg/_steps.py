"""Validators of scripted ``returns`` values, shared by the step declarations."""

from __future__ import annotations

from typing import Any

from tripwire_core import NOTHING

from .records import to_record

__all__ = ["LIVE", "OPEN", "any_value", "given", "none", "row_or_none", "status"]

# Connection states in which a connection can be used, and those where it can
# also be in a failed transaction.
OPEN = ("connected", "in_transaction")
LIVE = ("connected", "in_transaction", "failed_transaction")


def none(value: Any) -> None:
    if value is not None:
        raise TypeError(f"the fake builds its own result, so returns must be None, got {value!r}")


def status(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a status string such as 'INSERT 0 1', got {value!r}")
    return value


def row_or_none(value: Any) -> Any:
    return None if value is None else to_record(value)


def any_value(value: Any) -> Any:
    return value


def given(**fields: Any) -> dict[str, Any]:
    """The fields an assertion helper was given (``NOTHING`` means left out)."""
    return {name: value for name, value in fields.items() if value is not NOTHING}
