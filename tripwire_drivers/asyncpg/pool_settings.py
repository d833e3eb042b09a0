"""The arguments of ``create_pool()``: the pool's settings and the connection's.

asyncpg checks the pool's own keywords when the pool is created, with its
messages, in its order; it passes every other keyword on to ``connect()``.
"""

from __future__ import annotations

import inspect
from typing import Any

import asyncpg
import asyncpg.connection
import asyncpg.pool

__all__ = ["connect_keywords", "pool_settings", "unknown_keyword"]

_CREATE_POOL = inspect.signature(asyncpg.pool.create_pool)
_POOL_DEFAULTS = {
    name: p.default for name, p in _CREATE_POOL.parameters.items() if p.kind is p.KEYWORD_ONLY
}
_CONNECT_PARAMETERS = frozenset(inspect.signature(asyncpg.connection.connect).parameters)


def pool_settings(passed: dict[str, Any]) -> dict[str, Any]:
    """The pool's parameters, checked in asyncpg's order with its messages."""
    values = {**_POOL_DEFAULTS, **{k: v for k, v in passed.items() if k in _POOL_DEFAULTS}}
    min_size, max_size = values["min_size"], values["max_size"]
    if max_size <= 0:
        raise ValueError("max_size is expected to be greater than zero")
    if min_size < 0:
        raise ValueError("min_size is expected to be greater or equal to zero")
    if min_size > max_size:
        raise ValueError("min_size is greater than max_size")
    if "init_size" in values:  # asyncpg 0.32
        if values["init_size"] is None:
            values["init_size"] = min_size
        if values["init_size"] < 0:
            raise ValueError("init_size is expected to be greater or equal to zero")
        if values["init_size"] > max_size:
            raise ValueError("init_size is greater than max_size")
        if values["init_size"] < min_size:
            raise ValueError("init_size is smaller than min_size")
    if values["max_queries"] <= 0:
        raise ValueError("max_queries is expected to be greater than zero")
    if values["max_inactive_connection_lifetime"] < 0:
        raise ValueError(
            "max_inactive_connection_lifetime is expected to be greater or equal to zero"
        )
    if not issubclass(values["connection_class"], asyncpg.Connection):
        raise TypeError(
            "connection_class is expected to be a subclass of asyncpg.Connection, "
            f"got {values['connection_class']!r}"
        )
    if not issubclass(values["record_class"], asyncpg.Record):
        raise TypeError(
            "record_class is expected to be a subclass of asyncpg.Record, "
            f"got {values['record_class']!r}"
        )
    return values


def connect_keywords(passed: dict[str, Any]) -> dict[str, Any]:
    """The keywords ``create_pool()`` passes on to ``connect()`` (the DSN aside)."""
    keywords = {k: v for k, v in passed.items() if k not in _POOL_DEFAULTS}
    keywords.pop("dsn", None)
    return keywords


def unknown_keyword(settings: dict[str, Any], connect_kwargs: dict[str, Any]) -> str | None:
    """The first keyword ``connect()`` would refuse, when the pool connects with it.

    With a ``connect=`` callback the keywords are the callback's business.
    """
    if settings.get("connect") is not None:
        return None
    return next((k for k in connect_kwargs if k not in _CONNECT_PARAMETERS), None)
