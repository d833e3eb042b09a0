"""The checks sqlite3 makes when it binds parameters, with its wording.

:func:`bind` returns what the fake records for one parameter set (a tuple
for a sequence, a dict for a mapping) and, if sqlite3 would refuse the set,
the exception class and message it would raise.  Success costs a type test
per value; messages are only built for a refusal.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from ._native import LEGACY_BINDING_ERRORS, UNSUPPORTED_PARAMETERS
from ._statements import Statement

__all__ = ["Problem", "bind"]

#: (exception class, message) of a refused binding
Problem = tuple[type[BaseException], str]

_UNSET: Any = object()
_PLAIN = frozenset({str, float, bytes, type(None)})
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: the type's tp_name is its bare __name__


def bind(statement: Statement, parameters: Any) -> tuple[Any, Problem | None]:
    """Check *parameters* against *statement* as sqlite3 binds them.

    Returns ``(recorded, problem)``: *problem* is ``None`` when sqlite3
    would accept the set.
    """
    kind = type(parameters)
    if kind is tuple or kind is list:
        values: tuple[Any, ...] = tuple(parameters)
    elif isinstance(parameters, dict):
        return _bind_named(statement, parameters)
    elif hasattr(kind, "__getitem__") and hasattr(kind, "__len__"):
        # Any other sequence binds by position, as PySequence_Check allows
        # (a str too, one character per parameter).
        values = tuple(parameters[i] for i in range(len(parameters)))
    else:
        return parameters, (UNSUPPORTED_PARAMETERS, "parameters are of unsupported type")
    if len(values) != statement.count:
        return values, (
            sqlite3.ProgrammingError,
            "Incorrect number of bindings supplied. The current statement uses "
            f"{statement.count}, and there are {len(values)} supplied.",
        )
    for position, value in enumerate(values, 1):
        if type(value) in _PLAIN:
            continue
        problem = _check_value(position, value)
        if problem is not None:
            return values, problem
    return values, None


def _bind_named(statement: Statement, parameters: dict[Any, Any]) -> tuple[Any, Problem | None]:
    recorded = dict(parameters)
    exact = type(parameters) is dict
    for position, name in enumerate(statement.names, 1):
        if name is None:
            return recorded, (
                sqlite3.ProgrammingError,
                f"Binding {position} has no name, but you supplied a dictionary "
                "(which has only names).",
            )
        key = name[1:]
        # A dict subclass is indexed, so its __missing__ applies, as in sqlite3.
        value = parameters.get(key, _UNSET) if exact else _lookup(parameters, key)
        if value is _UNSET:
            return recorded, (
                sqlite3.ProgrammingError,
                f"You did not supply a value for binding parameter :{key}.",
            )
        if type(value) not in _PLAIN:
            problem = _check_value(position, value, name)
            if problem is not None:
                return recorded, problem
    return recorded, None


def _lookup(parameters: Mapping[Any, Any], key: str) -> Any:
    try:
        return parameters[key]
    except KeyError:
        return _UNSET


def _check_value(position: int, value: Any, name: str | None = None) -> Problem | None:
    if type(value) is int:
        return None if _INT64_MIN <= value <= _INT64_MAX else _overflow()
    # sqlite3 offers other types to the registered adapters (and to
    # __conform__) first; whatever comes back must be a type SQLite stores.
    adapted = sqlite3.adapt(value, sqlite3.PrepareProtocol, value)
    if adapted is None or isinstance(adapted, (str, float)):
        return None
    if isinstance(adapted, int):
        return None if _INT64_MIN <= adapted <= _INT64_MAX else _overflow()
    try:
        memoryview(adapted)
    except TypeError:
        if LEGACY_BINDING_ERRORS:
            # Up to 3.10: the name as written, or the index counted from 0.
            label = position - 1 if name is None else name
            return (
                sqlite3.InterfaceError,
                f"Error binding parameter {label} - probably unsupported type.",
            )
        return (
            sqlite3.ProgrammingError,
            f"Error binding parameter {position}: type '{_type_name(type(value))}' "
            "is not supported",
        )
    return None


def _overflow() -> Problem:
    return OverflowError, "Python int too large to convert to SQLite INTEGER"


def _type_name(kind: type) -> str:
    # CPython's tp_name: static types carry their module, classes do not.
    if kind.__flags__ & _HEAPTYPE or kind.__module__ == "builtins":
        return kind.__name__
    return f"{kind.__module__}.{kind.__name__}"
