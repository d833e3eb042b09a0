"""How the running Python's sqlite3 words and decides what the fake mirrors.

sqlite3's messages and a few of its checks changed between Python versions
(3.11 rewrote the parameter binding errors, the executemany() check and the
isolation_level validation).  Rather than keeping a table per version, this
module asks the real module once, at import, on a private in-memory
database, and the fake follows the answers.  Package-internal.
"""

from __future__ import annotations

import sqlite3
from typing import Any

__all__ = [
    "CHECKS_CLOSED_ENTER",
    "CHECKS_CLOSED_SETTER",
    "CONNECT_KEYWORD_TARGET",
    "CONNECT_NAME",
    "LEGACY_BINDING_ERRORS",
    "MULTIPLE_STATEMENTS",
    "NO_ROWS_IN_EXECUTEMANY",
    "UNSUPPORTED_PARAMETERS",
    "UPPERCASES_ISOLATION_LEVEL",
    "isolation_level_error",
]

# The class, not connect(): a sandbox replaces sqlite3.connect, never the class.
_REAL_CONNECT: Any = sqlite3.Connection


def _raised(action: Any) -> BaseException | None:
    try:
        action()
    except Exception as exc:  # the probe wants whatever sqlite3 raises
        return exc
    return None


def _class_of(error: BaseException | None, default: type[BaseException]) -> Any:
    return default if error is None else type(error)


def _probe() -> dict[str, Any]:
    conn = _REAL_CONNECT(":memory:", check_same_thread=False)
    try:
        conn.isolation_level = "deferred"
        found: dict[str, Any] = {"upper": conn.isolation_level == "DEFERRED"}
        found["multiple"] = _class_of(
            _raised(lambda: conn.execute("SELECT 1; SELECT 2")), sqlite3.ProgrammingError
        )
        found["unsupported"] = _class_of(
            _raised(lambda: conn.execute("SELECT ?", 5)), sqlite3.ProgrammingError
        )
        binding = _raised(lambda: conn.execute("SELECT ?", (object(),)))
        found["legacy_binding"] = isinstance(binding, sqlite3.InterfaceError)
        # Up to 3.10 executemany() only refused a statement that returned a
        # row; from 3.11 it refuses any read-only one, BEGIN included.
        found["rows_only"] = _raised(lambda: conn.executemany("BEGIN", [()])) is None
        conn.rollback()
        # connect()'s argument errors name "Connection()" from 3.11, "function" before.
        missing = str(_raised(lambda: _REAL_CONNECT()))
        found["connect_name"] = missing.partition(" missing required")[0]
        bogus = str(_raised(lambda: _REAL_CONNECT(":memory:", bogus=1)))
        found["keyword_target"] = bogus.partition("invalid keyword argument for ")[2]
    finally:
        conn.close()
    found["closed_enter"] = _raised(conn.__enter__) is not None
    found["closed_setter"] = _raised(lambda: setattr(conn, "isolation_level", None)) is not None
    return found


_FOUND = _probe()

#: isolation_level "deferred" reads back as "DEFERRED" (3.11+)
UPPERCASES_ISOLATION_LEVEL: bool = _FOUND["upper"]
#: the class raised for more than one statement (sqlite3.Warning up to 3.10)
MULTIPLE_STATEMENTS: type[BaseException] = _FOUND["multiple"]
#: the class raised for parameters that are neither sequence nor dict
UNSUPPORTED_PARAMETERS: type[BaseException] = _FOUND["unsupported"]
#: up to 3.10: InterfaceError "Error binding parameter 0 - probably unsupported type."
LEGACY_BINDING_ERRORS: bool = _FOUND["legacy_binding"]
#: up to 3.10 executemany() accepts a read-only statement that returns no row
NO_ROWS_IN_EXECUTEMANY: bool = _FOUND["rows_only"]
#: how connect()'s argument errors name the callable ("Connection()" from 3.11)
CONNECT_NAME: str = _FOUND["connect_name"]
#: ... and how its unknown-keyword error does ("this function" up to 3.10)
CONNECT_KEYWORD_TARGET: str = _FOUND["keyword_target"]
#: `with` on a closed connection raises (3.11+)
CHECKS_CLOSED_ENTER: bool = _FOUND["closed_enter"]
#: setting isolation_level=None on a closed connection raises (3.11+)
CHECKS_CLOSED_SETTER: bool = _FOUND["closed_setter"]


def isolation_level_error(value: Any) -> BaseException:
    """The exception the real sqlite3 raises for an isolation level it rejects."""
    conn = _REAL_CONNECT(":memory:", check_same_thread=False)
    try:
        conn.isolation_level = value
    except (TypeError, ValueError) as exc:
        return exc
    finally:
        conn.close()
    return ValueError(f"invalid value for isolation_level: {value!r}")
