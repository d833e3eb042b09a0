"""The fake ``asyncpg.Connection`` the code under test receives."""

from __future__ import annotations

import functools
from typing import Any

import asyncpg
import asyncpg.connection

from tripwire_core import ClientCheckError, NotSupportedError, Session

from ._query import argument_count_error, parameter_count

__all__ = ["SUPPORTED", "Connection"]

SUPPORTED = ("execute", "fetch", "fetchrow", "fetchval", "close", "is_closed")

# asyncpg's metaclass accepts instances of _ConnectionProxy subclasses as
# `asyncpg.Connection` (that is how its pool proxies pass); so does the fake.
_ProxyBase: type = getattr(asyncpg.connection, "_ConnectionProxy", object)


class Connection(_ProxyBase):  # type: ignore[misc]
    """A scripted stand-in for ``asyncpg.Connection``.

    Methods keep asyncpg's signatures; each call runs through the session's
    state machine and script, and returns what the test scripted.
    """

    __slots__ = ("_session",)

    def __init__(self, session: Session) -> None:
        self._session = session

    def __repr__(self) -> str:
        return f"<tripwire asyncpg Connection {self._session.label} state={self._session.state}>"

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        fields: dict[str, Any] = {"query": query, "args": list(args)}
        if timeout is not None:
            fields["timeout"] = timeout
        # Without arguments asyncpg uses the simple protocol: no count check.
        if args and parameter_count(query) != len(args):
            self._refuse_arguments("execute", query, args, fields)
        result: str = self._session.call("execute", fields)
        return result

    async def fetch(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,
        record_class: type[Any] | None = None,
    ) -> list[Any]:
        fields = _fields(query, args, timeout, record_class)
        if record_class is not None:
            self._check_record_class("fetch", record_class, fields)
        if parameter_count(query) != len(args):
            self._refuse_arguments("fetch", query, args, fields)
        result: list[Any] = self._session.call("fetch", fields)
        return result

    async def fetchrow(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,
        record_class: type[Any] | None = None,
    ) -> Any:
        fields = _fields(query, args, timeout, record_class)
        if record_class is not None:
            self._check_record_class("fetchrow", record_class, fields)
        if parameter_count(query) != len(args):
            self._refuse_arguments("fetchrow", query, args, fields)
        return self._session.call("fetchrow", fields)

    async def fetchval(
        self, query: str, *args: Any, column: int | str = 0, timeout: float | None = None
    ) -> Any:
        fields: dict[str, Any] = {"query": query, "args": list(args)}
        if column != 0:
            fields["column"] = column
        if timeout is not None:
            fields["timeout"] = timeout
        if parameter_count(query) != len(args):
            self._refuse_arguments("fetchval", query, args, fields)
        return self._session.call("fetchval", fields)

    async def close(self, *, timeout: float | None = None) -> None:
        # asyncpg's close() is a no-op on a closed connection.
        if self._session.state == "closed":
            return
        self._session.call("close", {} if timeout is None else {"timeout": timeout})

    def is_closed(self) -> bool:
        return self._session.state == "closed"

    def _refuse_arguments(
        self, step: str, query: str, args: tuple[Any, ...], fields: dict[str, Any]
    ) -> None:
        # asyncpg checks the connection before the arguments.
        self._session.check(step, fields)
        if not isinstance(query, str):
            raise TypeError(f"Expected str, got {type(query).__name__}")
        expected = parameter_count(query)
        message, hint = argument_count_error(expected, len(args))
        error = self._session.plugin.refuse(
            ClientCheckError,
            message,
            native=asyncpg.InterfaceError,
            note=f"{self._session.label}: {step}() refused before reaching the script: the "
            + (
                f"query uses parameters up to ${expected}"
                if expected
                else "query has no $n parameters"
            )
            + f" and {len(args)} argument(s) were passed, so asyncpg would refuse it too.",
        )
        error.hint = hint  # type: ignore[attr-defined]
        raise error

    def __getattr__(self, name: str) -> Any:
        # The attribute exists, as on asyncpg (hasattr stays True); calling it
        # is refused by name instead of returning a silent mock.
        if not name.startswith("_") and callable(getattr(asyncpg.Connection, name, None)):
            return functools.partial(_unsupported, self._session, name)
        raise AttributeError(f"'Connection' object has no attribute {name!r}")

    def _check_record_class(self, step: str, record_class: Any, fields: dict[str, Any]) -> None:
        if isinstance(record_class, type) and issubclass(record_class, asyncpg.Record):
            if "__new__" in vars(record_class) or "__init__" in vars(record_class):
                self._refuse_client(
                    step, fields, "record_class must not redefine __new__ or __init__"
                )
            return
        self._refuse_client(
            step,
            fields,
            f"record_class is expected to be a subclass of asyncpg.Record, got {record_class!r}",
        )

    def _refuse_client(self, step: str, fields: dict[str, Any], message: str) -> None:
        self._session.check(step, fields)
        raise self._session.plugin.refuse(
            ClientCheckError,
            message,
            native=asyncpg.InterfaceError,
            note=f"{self._session.label}: {step}() refused before reaching the script.",
        )


def _unsupported(session: Session, name: str, *args: Any, **kwargs: Any) -> Any:
    raise session.plugin.refuse(
        NotSupportedError,
        f"asyncpg.Connection.{name}() is not supported by tripwire's asyncpg fake yet; "
        "tripwire refuses it rather than return a silent mock.\n"
        f"Supported: {', '.join(SUPPORTED)}.",
    )


def _fields(
    query: str, args: tuple[Any, ...], timeout: float | None, record_class: type[Any] | None
) -> dict[str, Any]:
    fields: dict[str, Any] = {"query": query, "args": list(args)}
    if timeout is not None:
        fields["timeout"] = timeout
    if record_class is not None:
        fields["record_class"] = record_class
    return fields
