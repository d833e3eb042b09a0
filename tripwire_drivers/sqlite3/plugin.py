"""The sqlite3 driver: its state machine, interception and assertions."""

from __future__ import annotations

import os
import sqlite3
import sqlite3.dbapi2
from collections.abc import Sequence
from typing import Any, ClassVar

from tripwire_core import (
    NOTHING,
    AttributePatch,
    DriverPlugin,
    NativeErrors,
    NotSupportedError,
    Patch,
    Step,
)

from ._native import CONNECT_KEYWORD_TARGET, CONNECT_NAME
from .connection import Connection, check_isolation_level
from .result import Result, to_many_result, to_result

__all__ = ["Sqlite3Plugin"]


def _none(value: Any) -> None:
    if value is not None:
        raise TypeError(
            f"this call returns nothing in sqlite3, so returns must be None, got {value!r}"
        )


_OPEN = ("idle", "in_transaction")
_STATEMENT = ("sql", "parameters")
_ROWS_DOC = "the rows it yields: a list of tuples ([] for none), or tripwire.sqlite3.Result(...)"


class Sqlite3Plugin(DriverPlugin):
    """Scripts and verifies sqlite3 connections.

    ``new_session()`` queues a session; each ``sqlite3.connect()`` made in a
    sandbox takes the next one.  The ``assert_*`` helpers assert the
    recorded interactions in order.
    """

    name = "sqlite3"
    states = ("disconnected", "idle", "in_transaction", "closed")
    initial = "disconnected"
    steps = (
        Step("connect", "disconnected", "idle", (), _none, "None"),
        Step("execute", _OPEN, None, _STATEMENT, to_result, _ROWS_DOC),
        Step("executemany", _OPEN, None, _STATEMENT, to_many_result, "[] or Result(rowcount=n)"),
        Step("commit", _OPEN, "idle", (), _none, "None"),
        Step("rollback", _OPEN, "idle", (), _none, "None"),
        Step("close", _OPEN, "closed", (), _none, "None"),
        # What SQLite does by itself: BEGIN before DML, and the transaction
        # statements the code sends as SQL.
        Step("begin", "idle", "in_transaction", scripted=False),
        Step("end", "in_transaction", "idle", scripted=False),
        # Local work that sends nothing but needs an open connection.
        Step("cursor", _OPEN, None, scripted=False),
        Step("fetch", _OPEN, None, scripted=False),
        Step("inspect", _OPEN, None, scripted=False),
    )
    native_errors: ClassVar[NativeErrors] = {
        "closed": (sqlite3.ProgrammingError, "Cannot operate on a closed database."),
        # Only an explicit BEGIN can be refused here; implicit ones never are.
        "in_transaction": (
            sqlite3.OperationalError,
            "cannot start a transaction within a transaction",
        ),
    }
    #: ``tripwire.sqlite3.Result(...)``: a scripted result with rowcount and more
    Result: ClassVar[type[Result]] = Result

    def patches(self) -> Sequence[Patch]:
        # sqlite3.connect is a builtin, so its code cannot be redirected: the
        # module attributes are replaced instead.
        return (
            AttributePatch(sqlite3, "connect", _connect),
            AttributePatch(sqlite3.dbapi2, "connect", _connect),
        )

    # Typed assertion helpers, one per step.

    def assert_connect(self, **fields: Any) -> None:
        """Assert the next ``connect``: pass whichever arguments the code passed."""
        __tracebackhide__ = True
        self.assert_step("connect", **fields)

    def assert_execute(self, *, sql: Any = NOTHING, parameters: Any = NOTHING) -> None:
        """Assert the next ``execute(sql, parameters)``."""
        __tracebackhide__ = True
        self.assert_step("execute", **_given(sql, parameters))

    def assert_executemany(self, *, sql: Any = NOTHING, parameters: Any = NOTHING) -> None:
        """Assert the next ``executemany(sql, parameters)`` (a list of parameter sets)."""
        __tracebackhide__ = True
        self.assert_step("executemany", **_given(sql, parameters))

    def assert_commit(self) -> None:
        """Assert the next ``commit()`` (also made by ``with connection:``)."""
        __tracebackhide__ = True
        self.assert_step("commit")

    def assert_rollback(self) -> None:
        """Assert the next ``rollback()`` (also made by ``with connection:``)."""
        __tracebackhide__ = True
        self.assert_step("rollback")

    def assert_close(self) -> None:
        """Assert the next ``close()``."""
        __tracebackhide__ = True
        self.assert_step("close")


def _given(sql: Any, parameters: Any) -> dict[str, Any]:
    # Only what the test passed: the core reports the fields it left out.
    given = {}
    if sql is not NOTHING:
        given["sql"] = sql
    if parameters is not NOTHING:
        given["parameters"] = parameters
    return given


_PARAMETERS = (
    "database",
    "timeout",
    "detect_types",
    "isolation_level",
    "check_same_thread",
    "factory",
    "cached_statements",
    "uri",
)
# Python 3.12 added the keyword-only `autocommit`; accept it only where the
# running sqlite3 does.
_LEGACY: Any = getattr(sqlite3, "LEGACY_TRANSACTION_CONTROL", NOTHING)
_KEYWORD_ONLY = () if _LEGACY is NOTHING else ("autocommit",)


def _bind(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments by name, with sqlite3's errors for a call it rejects."""
    if len(args) > len(_PARAMETERS):
        raise TypeError(
            f"{CONNECT_NAME} takes at most {len(_PARAMETERS)} arguments "
            f"({len(args) + len(kwargs)} given)"
        )
    fields = dict(zip(_PARAMETERS, args, strict=False))
    for name, value in kwargs.items():
        if name in fields:
            raise TypeError(
                f"argument for {CONNECT_NAME} given by name ('{name}') and position "
                f"({_PARAMETERS.index(name) + 1})"
            )
        if name not in _PARAMETERS and name not in _KEYWORD_ONLY:
            raise TypeError(f"'{name}' is an invalid keyword argument for {CONNECT_KEYWORD_TARGET}")
        fields[name] = value
    if "database" not in fields:
        raise TypeError(f"{CONNECT_NAME} missing required argument 'database' (pos 1)")
    os.fspath(fields["database"])
    timeout = fields.get("timeout", 5.0)
    if not isinstance(timeout, (int, float)) and not hasattr(type(timeout), "__float__"):
        raise TypeError(f"must be real number, not {type(timeout).__name__}")
    return fields


def _connect(*args: Any, **kwargs: Any) -> Connection:
    # sqlite3 rejects bad arguments before it opens anything.
    fields = _bind(args, kwargs)
    isolation_level = check_isolation_level(fields.get("isolation_level", ""))
    factory = fields.get("factory", sqlite3.Connection)
    autocommit = fields.get("autocommit", _LEGACY)
    if factory is not sqlite3.Connection or autocommit != _LEGACY:
        plugin = Sqlite3Plugin.current()
        if plugin is not None:
            name = "factory" if factory is not sqlite3.Connection else "autocommit"
            raise plugin.refuse(
                NotSupportedError,
                f"sqlite3.connect({name}={fields[name]!r}) is not supported by tripwire's "
                "sqlite3 fake: it models the default connection class and sqlite3's legacy "
                "transaction control.",
            )
    # Raises UnmockedInteractionError when no session is queued, or when the
    # caller's sandbox cannot be told apart.
    session = Sqlite3Plugin.start_session("connect")
    session.call("connect", fields)
    return Connection(
        session,
        isolation_level=isolation_level,
        check_same_thread=bool(fields.get("check_same_thread", True)),
    )
