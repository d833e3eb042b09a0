"""Text helpers for error messages (never used on the per-call path)."""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["assertion_text", "call_text", "plural", "value_text"]

_repr = reprlib.Repr()
_repr.maxstring = 200
_repr.maxother = 200
_repr.maxlist = 20
_repr.maxdict = 20


def value_text(value: Any) -> str:
    return _repr.repr(value)


def call_text(step: str, fields: Mapping[str, Any]) -> str:
    """``fetch(query='SELECT 1', args=[])``: how a recorded call reads."""
    return f"{step}({', '.join(f'{k}={value_text(v)}' for k, v in fields.items())})"


def assertion_text(source: str, step: str, fields: Mapping[str, Any]) -> str:
    """The assertion line a user can paste into the test."""
    return f"tripwire.{source}.assert_{step}({', '.join(f'{k}={v!r}' for k, v in fields.items())})"


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (plural_form or noun + 's')}"


def names(items: Iterable[str]) -> str:
    listed = [str(i) for i in items]
    return ", ".join(listed) if listed else "none"
