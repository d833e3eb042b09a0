"""Prepared statements: ``conn.prepare()`` and the statement it returns.

``prepare`` is a step of its own; its ``returns`` is ``None`` or a
:class:`~.statement.Statement` describing what the server would report
(parameter and column types, the command status).  Running the statement
takes the connection's steps (``fetch``, ``fetchrow``, ``fetchval``,
``fetchmany``, ``executemany``, ``cursor``), recorded with the statement's
query and the field ``prepared=True``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import asyncpg
import asyncpg.prepared_stmt

from tripwire_core import (
    NOTHING,
    ClientCheckError,
    RefusalError,
    Session,
    Step,
    StepMismatchError,
    UnmockedInteractionError,
)

from ._assertions import Assertions
from ._checks import bad_query, check_record_class, refuse_arguments
from ._query import parameter_count
from ._resource import guard, raw_timeout, raw_timeout_checked, refuse_unimplemented
from ._steps import OPEN, given
from .cursor import CursorFactory
from .records import as_record_class, with_record_class
from .statement import Statement, statement_or_none

if TYPE_CHECKING:
    from .connection import Connection

__all__ = [
    "PREPARED_STEPS",
    "PreparedAssertions",
    "PreparedMethods",
    "PreparedStatement",
    # Defined in .statement; imported from here by code written before it moved.
    "Statement",
]

PREPARED_STEPS = (
    Step(
        "prepare",
        OPEN,
        None,
        ("query",),
        statement_or_none,
        "None, or a Statement(parameters=(...), columns={...}) describing it",
    ),
)


class PreparedStatement(asyncpg.prepared_stmt.PreparedStatement):  # type: ignore[misc]
    """The fake of ``asyncpg.prepared_stmt.PreparedStatement``.

    As in asyncpg, every public method is a plain function that checks the
    connection at call time; the async ones then return a coroutine.
    """

    __slots__ = (
        "_connection",
        "_count",
        "_description",
        "_last_status",
        "_name",
        "_query",
        "_record_class",
        "_session",
        "_status_after",
    )

    _connection: Connection
    _description: Statement | None
    _record_class: type[Any] | None
    _session: Session

    def __init__(
        self,
        connection: Connection,
        query: str,
        name: str,
        description: Statement | None,
        record_class: type[Any] | None,
    ) -> None:
        # asyncpg's __init__ is not called: it needs the protocol's state.
        self._connection = connection
        self._session = connection._session
        self._query = query
        self._name = name
        self._description = description
        # The class of its rows: prepare(record_class=...), else the connection's.
        self._record_class = record_class or connection._record_class
        self._count = parameter_count(query) if description is None else len(description.parameters)
        self._status_after = NOTHING if description is None else description.status
        self._last_status = None

    def __repr__(self) -> str:
        return (
            f"<tripwire asyncpg PreparedStatement {self._name!r} {self._query!r} "
            f"{self._session.label}>"
        )

    def __del__(self) -> None:
        pass

    # Descriptions, read locally.

    def get_name(self) -> str:
        guard(self._session, "PreparedStatement", "get_name")
        return self._name

    def get_query(self) -> str:
        guard(self._session, "PreparedStatement", "get_query")
        return self._query

    def get_statusmsg(self) -> Any:
        guard(self._session, "PreparedStatement", "get_statusmsg")
        status = self._last_status
        if status is NOTHING:
            raise self._undescribed("get_statusmsg", "status='SELECT 1'")
        return status

    def get_parameters(self) -> Any:
        guard(self._session, "PreparedStatement", "get_parameters")
        if self._description is None:
            raise self._undescribed("get_parameters", "parameters=('int4',)")
        return self._description.parameters

    def get_attributes(self) -> Any:
        guard(self._session, "PreparedStatement", "get_attributes")
        if self._description is None:
            raise self._undescribed("get_attributes", "columns={'id': 'int4'}")
        return self._description.columns

    # Executions: the connection's steps, with prepared=True.

    def fetch(self, *args: Any, timeout: Any = None) -> Any:
        guard(self._session, "PreparedStatement", "fetch")
        return self._fetch("fetch", args, timeout)

    def fetchrow(self, *args: Any, timeout: Any = None) -> Any:
        guard(self._session, "PreparedStatement", "fetchrow")
        return self._fetch("fetchrow", args, timeout)

    def fetchval(self, *args: Any, column: Any = 0, timeout: Any = None) -> Any:
        guard(self._session, "PreparedStatement", "fetchval")
        return self._fetch("fetchval", args, timeout, column)

    async def _fetch(self, step: str, args: tuple[Any, ...], timeout: Any, column: Any = 0) -> Any:
        raw_timeout(timeout)
        fields: dict[str, Any] = {"query": self._query, "args": list(args), "prepared": True}
        if column != 0:
            fields["column"] = column
        if timeout is not None:
            fields["timeout"] = timeout
        if len(args) != self._count:
            refuse_arguments(self._session, step, self._query, args, fields)
        result = self._connection._call(step, fields)
        self._last_status = self._status_after
        if step == "fetch":
            self._check_rows(step, result)
            return with_record_class(result, self._record_class)
        if step == "fetchrow" and result is not None:
            self._check_rows(step, [result])
            return as_record_class(result, self._record_class)
        return result

    def fetchmany(self, args: Any, *, timeout: Any = None) -> Any:
        guard(self._session, "PreparedStatement", "fetchmany")
        return self._many("fetchmany", "query", args, timeout)

    def executemany(self, args: Any, *, timeout: Any = None) -> Any:
        guard(self._session, "PreparedStatement", "executemany")
        return self._many("executemany", "command", args, timeout)

    async def _many(self, step: str, key: str, args: Any, timeout: Any) -> Any:
        raw_timeout(timeout)
        rows = [list(r) if isinstance(r, (list, tuple)) or _is_sequence(r) else r for r in args]
        fields: dict[str, Any] = {key: self._query, "args": rows, "prepared": True}
        if timeout is not None:
            fields["timeout"] = timeout
        session = self._session
        for number, row in enumerate(rows):
            if not isinstance(row, list):
                session.check(step, fields)
                raise session.plugin.refuse(
                    ClientCheckError,
                    f"invalid input in executemany() argument sequence element #{number}: "
                    f"expected a sequence, got {type(row).__name__}",
                    native=asyncpg.DataError,
                    note=f"{session.label}: PreparedStatement.{step}() refused before reaching "
                    "the script: each element of args is one call's arguments.",
                )
            if len(row) != self._count:
                refuse_arguments(session, step, self._query, tuple(row), fields)
        result = self._connection._call(step, fields)
        if step == "fetchmany":
            self._check_rows(step, result)
            return with_record_class(result, self._record_class)
        return result

    def cursor(self, *args: Any, prefetch: Any = None, timeout: Any = None) -> CursorFactory:
        """A cursor over this statement: the ``cursor`` step with ``prepared=True``."""
        guard(self._session, "PreparedStatement", "cursor")
        # Its rows have the statement's class, and are checked against its description.
        return CursorFactory(
            self._connection,
            self._query,
            args,
            prefetch,
            timeout,
            None,
            self._record_class,
            self._check_rows,
        )

    def explain(self, *args: Any, analyze: Any = False) -> Any:
        """The plan, through the connection's ``fetchval``, as asyncpg gets it."""
        guard(self._session, "PreparedStatement", "explain")
        return self._explain(args, analyze)

    async def _explain(self, args: tuple[Any, ...], analyze: Any) -> Any:
        query = f"EXPLAIN (FORMAT JSON, VERBOSE{', ANALYZE' if analyze else ''}) {self._query}"
        connection = self._connection
        if analyze:
            # asyncpg runs EXPLAIN ANALYZE in a transaction it rolls back.
            transaction = connection.transaction()
            await transaction.start()
            try:
                data = await connection.fetchval(query, *args)
            finally:
                await transaction.rollback()
        else:
            data = await connection.fetchval(query, *args)
        if not isinstance(data, (str, bytes, bytearray)):
            raise TypeError(
                "explain() parses the JSON text the server sends: script the fetchval step "
                f"with returns=json.dumps(plan), got {type(data).__name__}"
            )
        return json.loads(data)

    # Checks of the script against the description.

    def _check_rows(self, step: str, rows: list[Any]) -> None:
        description = self._description
        if description is None or not rows:
            return
        expected = tuple(column[0] for column in description.columns)
        got = tuple(rows[0].keys())
        if got != expected:
            session = self._session
            raise session.plugin.refuse(
                StepMismatchError,
                f"{session.label}: the rows scripted for {step}() of the statement "
                f"{self._query!r} have columns {list(got)}, but its prepare step describes "
                f"{list(expected)}.\nScript rows with the statement's columns.",
            )

    def _undescribed(self, method: str, example: str) -> RefusalError:
        session = self._session
        return session.plugin.refuse(
            UnmockedInteractionError,
            f"{session.label}: PreparedStatement.{method}() of {self._query!r} reads what the "
            "server described, and the prepare step did not script it.\n"
            f'Script it: .expect("prepare", returns=Statement({example}, ...))',
        )


refuse_unimplemented(PreparedStatement, asyncpg.prepared_stmt.PreparedStatement)


def _is_sequence(value: Any) -> bool:
    # asyncpg's PySequence_Check: indexable and not a dict.
    return not isinstance(value, dict) and hasattr(type(value), "__getitem__")


class PreparedMethods:
    """``prepare()`` for the fake connection."""

    _session: Session
    _record_class: type[Any] | None  # connect(record_class=...), set by Connection

    if TYPE_CHECKING:

        def _call(self, step: str, fields: dict[str, Any]) -> Any: ...

    def __init__(self) -> None:
        super().__init__()
        # Generated names count per connection (asyncpg counts per process).
        self._statement_serial = 0

    async def prepare(
        self,
        query: str,
        *,
        name: str | None = None,
        timeout: float | None = None,
        record_class: type[Any] | None = None,
    ) -> PreparedStatement:
        session = self._session
        fields: dict[str, Any] = {"query": query}
        if name is not None:
            fields["name"] = name
        if timeout is not None:
            fields["timeout"] = timeout
        if record_class is not None:
            fields["record_class"] = record_class
            check_record_class(session, "prepare", record_class, fields)
        if timeout is not None:
            raw_timeout_checked(session, "prepare", timeout, fields)
        if query.__class__ is not str:
            # prepare() sends the text without measuring it first.
            bad_query(session, "prepare", query, True, fields)
        description: Statement | None = self._call("prepare", fields)
        if description is not None and len(description.parameters) != parameter_count(query):
            raise session.plugin.refuse(
                StepMismatchError,
                f"{session.label}: prepare({query!r}) was scripted with a Statement of "
                f"{len(description.parameters)} parameter(s), but the query uses "
                f"{parameter_count(query)}.\nDescribe one type per $n of the query.",
            )
        if isinstance(name, str):
            statement_name = name
        elif name is None or name:
            self._statement_serial += 1
            statement_name = f"__asyncpg_stmt_{self._statement_serial:x}__"
        else:
            statement_name = ""  # asyncpg prepares an unnamed statement
        return PreparedStatement(
            self,  # type: ignore[arg-type]
            query,
            statement_name,
            description,
            record_class,
        )


# Python names the method in its own TypeError texts; asyncpg's is Connection's.
PreparedMethods.prepare.__qualname__ = "Connection.prepare"


class PreparedAssertions(Assertions):
    """Typed ``assert_*`` helpers for prepared statements."""

    def assert_prepare(self, *, query: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``prepare(query)``; also name ``name``/``timeout``/``record_class``
        if the code passed them."""
        __tracebackhide__ = True
        self.assert_step("prepare", **given(query=query, **extra))
