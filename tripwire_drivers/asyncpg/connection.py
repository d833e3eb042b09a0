"""The fake ``asyncpg.Connection`` the code under test receives."""

from __future__ import annotations

import functools
from typing import Any

import asyncpg
import asyncpg.connection

from tripwire_core import ClientCheckError, NotSupportedError, RefusalError, Session

from ._query import argument_count_error, check_timeout, parameter_count, query_type_error

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
            self._check_timeout("execute", timeout, fields)
        if args:
            if parameter_count(query) != len(args):
                self._refuse_arguments("execute", query, args, fields)
        elif query.__class__ is not str:
            # Without arguments asyncpg sends the text as is (simple protocol).
            self._bad_query("execute", query, True, fields)
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
        if len(fields) > 2:
            self._check_keywords("fetch", timeout, record_class, fields)
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
        if len(fields) > 2:
            self._check_keywords("fetchrow", timeout, record_class, fields)
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
            self._check_timeout("fetchval", timeout, fields)
        if parameter_count(query) != len(args):
            self._refuse_arguments("fetchval", query, args, fields)
        return self._session.call("fetchval", fields)

    async def close(self, *, timeout: float | None = None) -> None:
        session = self._session
        # asyncpg's close() is a no-op on a closed connection.
        if session.state == "closed":
            session.check_sandbox("close")
            return
        try:
            session.call("close", {} if timeout is None else {"timeout": timeout})
        except RefusalError:
            raise
        except BaseException:
            # A close that fails still aborts the connection, as asyncpg does.
            session.transition("abort")
            raise

    def is_closed(self) -> bool:
        self._session.check_sandbox("is_closed")
        return self._session.state == "closed"

    def _check_keywords(
        self, step: str, timeout: Any, record_class: Any, fields: dict[str, Any]
    ) -> None:
        if record_class is not None:
            self._check_record_class(step, record_class, fields)
        if timeout is not None:
            self._check_timeout(step, timeout, fields)

    def _check_timeout(self, step: str, timeout: Any, fields: dict[str, Any]) -> None:
        try:
            check_timeout(timeout)
        except BaseException:
            self._session.check(step, fields)
            raise

    def _bad_query(self, step: str, query: Any, simple: bool, fields: dict[str, Any]) -> None:
        self._session.check(step, fields)
        error, fatal = query_type_error(query, simple)
        if fatal:
            # asyncpg's protocol gives up on the connection after this error.
            self._session.transition("abort")
        raise error

    def _refuse_arguments(
        self, step: str, query: str, args: tuple[Any, ...], fields: dict[str, Any]
    ) -> None:
        if query.__class__ is not str:
            self._bad_query(step, query, False, fields)
        # asyncpg checks the connection before the arguments.
        self._session.check(step, fields)
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
