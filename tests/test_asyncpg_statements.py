"""Prepared statements and cursors: shapes, steps, local rows, asyncpg's messages.

The tests marked ``postgres`` run the same code against a real server and
the fake (scripted with what the server answered) and compare the outcomes.
Transactions come from ``transaction.py``: ``async with conn.transaction()``
takes the steps ``begin`` and ``commit``/``rollback``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import asyncpg.cursor
import asyncpg.prepared_stmt
import pytest
from asyncpg.types import Attribute, Type

from tripwire import (
    ClientCheckError,
    ConfigurationError,
    InvalidStateError,
    MissingAssertionFieldsError,
    NotSupportedError,
    SandboxClosedError,
    StepMismatchError,
    StrictVerifier,
    UnmockedInteractionError,
)
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin
from tripwire_core import SessionHandle
from tripwire_drivers.asyncpg import Connection
from tripwire_drivers.asyncpg._resource import refuse_unimplemented
from tripwire_drivers.asyncpg.cursor import Cursor, CursorFactory, CursorIterator
from tripwire_drivers.asyncpg.prepared import PreparedStatement
from tripwire_drivers.asyncpg.statement import Statement, pg_type

ROWS = [{"n": n} for n in range(1, 6)]
QUERY = "SELECT g AS n FROM generate_series(1, 5) AS g"
INT4 = Type(23, "int4", "scalar", "pg_catalog")
TEXT = Type(25, "text", "scalar", "pg_catalog")
COUNT_MESSAGE = (
    "the server expects 1 argument for this query, 2 were passed\n"
    "HINT:  Check the query against the passed list of arguments."
)


class MyRecord(asyncpg.Record):
    pass


def session(apg: AsyncpgPlugin, *steps: tuple[str, Any]) -> SessionHandle:
    """A connection session: connect, then each (step, returns)."""
    handle = apg.new_session().expect("connect", returns=None)
    for step, returns in steps:
        handle.expect(step, returns=returns)
    return handle


def values(rows: list[Any]) -> list[Any]:
    return [row[0] for row in rows]


# Shapes: the fakes have asyncpg's public surface, signatures and sync/async split.

SHAPES = [
    (PreparedStatement, asyncpg.prepared_stmt.PreparedStatement, ()),
    (CursorFactory, asyncpg.cursor.CursorFactory, ("__aiter__", "__await__")),
    (CursorIterator, asyncpg.cursor.CursorIterator, ("__aiter__", "__anext__")),
    (Cursor, asyncpg.cursor.Cursor, ()),
]


def public(real: type, dunders: tuple[str, ...]) -> list[str]:
    return [n for n in dir(real) if not n.startswith("_")] + list(dunders)


def parameters(function: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(("fake", "real", "dunders"), SHAPES, ids=[s[0].__name__ for s in SHAPES])
def test_fakes_mirror_asyncpg_signatures_and_sync_wrappers(
    fake: type, real: type, dunders: tuple[str, ...]
) -> None:
    assert issubclass(fake, real)
    for name in public(real, dunders):
        # Defined by the fake itself: nothing of asyncpg's runs on a fake.
        assert any(name in vars(cls) for cls in fake.__mro__[: fake.__mro__.index(real)]), name
        assert parameters(getattr(fake, name)) == parameters(getattr(real, name)), name
        # asyncpg's methods are sync wrappers returning coroutines.
        assert not inspect.iscoroutinefunction(getattr(fake, name)), name
        assert not inspect.iscoroutinefunction(getattr(real, name)), name


@pytest.mark.parametrize(("method", "is_async"), [("prepare", True), ("cursor", False)])
def test_connection_methods_mirror_asyncpg(method: str, is_async: bool) -> None:
    real = getattr(asyncpg.Connection, method)
    fake = getattr(Connection, method)
    assert parameters(fake) == parameters(real)
    assert inspect.iscoroutinefunction(fake) is inspect.iscoroutinefunction(real) is is_async


def test_a_method_a_newer_asyncpg_adds_is_refused_by_name() -> None:
    class Real:
        def shiny(self) -> None: ...

    class Fake(Real):
        pass

    refuse_unimplemented(Fake, Real)
    assert Fake.shiny is not Real.shiny


async def test_a_refused_stand_in_says_what_is_missing(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    class Newer(PreparedStatement):
        __slots__ = ()

    class Real(asyncpg.prepared_stmt.PreparedStatement):  # type: ignore[misc]
        __slots__ = ()

        def shiny(self) -> None: ...

    refuse_unimplemented(Newer, Real)
    session(apg, ("prepare", None))
    conn = await asyncpg.connect()
    stmt = await conn.prepare("SELECT 1")
    with pytest.raises(NotSupportedError) as caught:
        Newer.shiny(stmt)
    assert str(caught.value) == (
        "asyncpg.Real.shiny() is not supported by tripwire's asyncpg fake; "
        "tripwire refuses it rather than return a silent mock."
    )
    sandbox.acknowledge_refusals()


async def test_statement_methods_check_at_call_time_and_return_coroutines(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("prepare", None), ("fetchval", 1))
    conn = await asyncpg.connect()
    stmt = await conn.prepare("SELECT 1")
    pending = stmt.fetchval()
    assert inspect.iscoroutine(pending)
    assert await pending == 1
    assert isinstance(stmt, asyncpg.prepared_stmt.PreparedStatement)
    factory = conn.cursor("SELECT 1")
    assert isinstance(factory, asyncpg.cursor.CursorFactory)


# prepare(): recorded fields, names, descriptions.


@pytest.mark.parametrize(
    ("kwargs", "recorded"),
    [
        ({}, {}),
        ({"name": "by_id"}, {"name": "by_id"}),
        ({"timeout": 2.5}, {"timeout": 2.5}),
        ({"record_class": MyRecord}, {"record_class": MyRecord}),
        ({"name": None, "timeout": None, "record_class": None}, {}),
    ],
)
async def test_prepare_records_the_query_and_the_keywords_given(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, kwargs: dict[str, Any], recorded: dict[str, Any]
) -> None:
    session(apg, ("prepare", None))
    conn = await asyncpg.connect()
    await conn.prepare("SELECT 1", **kwargs)
    apg.assert_connect()
    apg.assert_prepare(query="SELECT 1", **recorded)
    sandbox.verify_all()


async def test_a_keyword_given_must_be_asserted(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("prepare", None))
    conn = await asyncpg.connect()
    await conn.prepare("SELECT 1", name="x")
    apg.assert_connect()
    with pytest.raises(MissingAssertionFieldsError):
        apg.assert_prepare(query="SELECT 1")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([None, None, None], ["__asyncpg_stmt_1__", "__asyncpg_stmt_2__", "__asyncpg_stmt_3__"]),
        (["by_id"], ["by_id"]),
        ([""], [""]),
        ([False], [""]),
        ([5, None], ["__asyncpg_stmt_1__", "__asyncpg_stmt_2__"]),
    ],
)
async def test_statement_names_follow_asyncpg(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, names: list[Any], expected: list[str]
) -> None:
    session(apg, *[("prepare", None)] * len(names))
    conn = await asyncpg.connect()
    got = [(await conn.prepare("SELECT 1", name=name)).get_name() for name in names]
    assert got == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("int4", INT4),
        ("integer", INT4),
        ("INT4", INT4),
        ("text", TEXT),
        ("int4[]", Type(1007, "int4[]", "array", "pg_catalog")),
        ("bigint[]", Type(1016, "int8[]", "array", "pg_catalog")),
        ("text[]", Type(1009, "text[]", "array", "pg_catalog")),
        ("timestamp with timezone", Type(1184, "timestamptz", "scalar", "pg_catalog")),
        ("char", Type(18, "char", "scalar", "pg_catalog")),
        ("bpchar", Type(1042, "bpchar", "scalar", "pg_catalog")),
        ("int4range", Type(3904, "int4range", "range", "pg_catalog")),
        ("int4range[]", Type(3905, "int4range[]", "array", "pg_catalog")),
        ("datemultirange", Type(4535, "datemultirange", "multirange", "pg_catalog")),
        ("record", Type(2249, "record", "scalar", "pg_catalog")),
        (Type(16394, "mood", "scalar", "public"), Type(16394, "mood", "scalar", "public")),
    ],
)
def test_type_names_become_asyncpg_types(spec: Any, expected: Any) -> None:
    assert pg_type(spec) == expected


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: Statement(parameters=("mood",)),
            ValueError,
            "parameter $1: tripwire does not know the type 'mood'; describe it as asyncpg "
            "reports it: asyncpg.types.Type(oid, name, kind, schema), e.g. Type(16394, 'mood', "
            "'scalar', 'public') (get_parameters() on a real connection shows it)",
        ),
        (
            lambda: Statement(parameters=("tid[]",)),
            ValueError,
            "parameter $1: tripwire does not know the type 'tid[]'; describe it as asyncpg "
            "reports it: asyncpg.types.Type(oid, name, kind, schema), e.g. Type(16394, 'mood', "
            "'scalar', 'public') (get_parameters() on a real connection shows it)",
        ),
        (
            lambda: Statement(parameters="int4"),
            TypeError,
            "Statement(parameters=...) takes a sequence of types such as ('int4', 'text'), "
            "got 'int4'",
        ),
        (
            lambda: Statement(parameters=(23,)),
            TypeError,
            "parameter $1: a type is a name such as 'int4' or an asyncpg.types.Type, got 23",
        ),
        (
            lambda: Statement(columns="id"),
            TypeError,
            "Statement(columns=...) is a dict or (name, type) pairs, got 'id'",
        ),
        (
            lambda: Statement(columns=[("id",)]),
            TypeError,
            "Statement(columns=...): each column is a (name, type) pair, got ('id',)",
        ),
        (
            lambda: Statement(columns=[(1, "int4")]),
            TypeError,
            "Statement(columns=...): a column name is a str, got 1",
        ),
        (
            lambda: Statement(columns={"id": "serial"}),
            ValueError,
            "column 'id': tripwire does not know the type 'serial'; describe it as asyncpg "
            "reports it: asyncpg.types.Type(oid, name, kind, schema), e.g. Type(16394, 'mood', "
            "'scalar', 'public') (get_parameters() on a real connection shows it)",
        ),
        (
            lambda: Statement(status=1),
            TypeError,
            "Statement(status=...) is a str such as 'UPDATE 1', got 1",
        ),
    ],
)
def test_bad_descriptions_are_refused_where_they_are_written(
    make: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        make()
    assert str(caught.value) == message


def test_a_description_is_converted_once_and_reads_back() -> None:
    statement = Statement(
        parameters=["int4"], columns=[("id", "int4"), ("id", INT4)], status="SELECT 1"
    )
    assert statement.parameters == (INT4,)
    assert statement.columns == (Attribute("id", INT4), Attribute("id", INT4))
    assert repr(Statement(columns={"a": "text"})) == (
        "Statement(parameters=(), columns=(Attribute(name='a', type=Type(oid=25, name='text', "
        "kind='scalar', schema='pg_catalog')),))"
    )
    assert repr(Statement(status=None)).endswith(", status=None)")


def test_prepare_returns_none_or_a_statement(apg: AsyncpgPlugin) -> None:
    with pytest.raises(ConfigurationError) as caught:
        apg.new_session().expect("prepare", returns={"parameters": ("int4",)})
    assert str(caught.value) == (
        "expect('prepare', returns={'parameters': ('int4',)}) is refused: expected None or a "
        "Statement(parameters=..., columns=...), got {'parameters': ('int4',)}. prepare returns "
        "None, or a Statement(parameters=(...), columns={...}) describing it."
    )


async def test_descriptions_are_what_get_parameters_and_get_attributes_return(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    description = Statement(parameters=("int4",), columns={"id": "int4", "name": "text"})
    session(apg, ("prepare", description))
    conn = await asyncpg.connect()
    stmt = await conn.prepare("SELECT id, name FROM users WHERE id = $1")
    assert stmt.get_query() == "SELECT id, name FROM users WHERE id = $1"
    assert stmt.get_parameters() == (INT4,)
    assert stmt.get_attributes() == (Attribute("id", INT4), Attribute("name", TEXT))
    assert stmt.get_statusmsg() is None


@pytest.mark.parametrize(
    ("method", "example"),
    [("get_parameters", "parameters=('int4',)"), ("get_attributes", "columns={'id': 'int4'}")],
)
async def test_reading_an_unscripted_description_is_refused(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, method: str, example: str
) -> None:
    session(apg, ("prepare", None))
    conn = await asyncpg.connect()
    stmt = await conn.prepare("SELECT 1")
    with pytest.raises(UnmockedInteractionError) as caught:
        getattr(stmt, method)()
    assert str(caught.value) == (
        f"asyncpg session #1: PreparedStatement.{method}() of 'SELECT 1' reads what the server "
        "described, and the prepare step did not script it.\n"
        f'Script it: .expect("prepare", returns=Statement({example}, ...))'
    )
    assert len(sandbox.acknowledge_refusals(UnmockedInteractionError)) == 1


@pytest.mark.parametrize(
    ("status", "run", "expected"),
    [
        ("UPDATE 3", ["fetch"], "UPDATE 3"),
        ("SELECT 1", ["fetchrow"], "SELECT 1"),
        (None, ["fetchval"], None),
        ("INSERT 0 1", ["executemany", "fetchmany"], None),  # neither sets the status
        ("INSERT 0 1", [], None),
    ],
)
async def test_get_statusmsg_reports_the_scripted_status_after_an_execution(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, status: Any, run: list[str], expected: Any
) -> None:
    returns = {"fetch": [], "fetchrow": None, "fetchval": 1, "executemany": None, "fetchmany": []}
    session(apg, ("prepare", Statement(status=status)), *[(m, returns[m]) for m in run])
    conn = await asyncpg.connect()
    stmt = await conn.prepare("UPDATE t SET a = 1")
    for method in run:
        await (getattr(stmt, method)([]) if method.endswith("many") else getattr(stmt, method)())
    assert stmt.get_statusmsg() == expected


async def test_an_unscripted_status_is_refused_once_it_is_known(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("prepare", Statement()), ("fetch", []))
    conn = await asyncpg.connect()
    stmt = await conn.prepare("DELETE FROM t")
    assert stmt.get_statusmsg() is None
    await stmt.fetch()
    with pytest.raises(UnmockedInteractionError) as caught:
        stmt.get_statusmsg()
    assert str(caught.value).endswith(
        "Script it: .expect(\"prepare\", returns=Statement(status='SELECT 1', ...))"
    )
    sandbox.acknowledge_refusals()


# Executing a statement: the connection's steps, with prepared=True.

STATEMENT_CALLS = [
    ("fetch", (7,), {}, [{"id": 7}], "fetch", {}),
    ("fetch", (7,), {"timeout": 2}, [], "fetch", {"timeout": 2}),
    ("fetchrow", (7,), {}, {"id": 7}, "fetchrow", {}),
    ("fetchrow", (8,), {}, None, "fetchrow", {}),
    ("fetchval", (7,), {}, 7, "fetchval", {}),
    ("fetchval", (7,), {"column": "id"}, 7, "fetchval", {"column": "id"}),
    ("fetchval", (7,), {"column": 0, "timeout": None}, 7, "fetchval", {}),
]


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "returns", "step", "recorded"), STATEMENT_CALLS
)
async def test_executions_take_the_connection_steps_with_prepared(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    returns: Any,
    step: str,
    recorded: dict[str, Any],
) -> None:
    query = "SELECT id FROM t WHERE id = $1"
    session(apg, ("prepare", None), (step, returns))
    conn = await asyncpg.connect()
    stmt = await conn.prepare(query)
    assert await getattr(stmt, method)(*args, **kwargs) == returns
    apg.assert_connect()
    apg.assert_prepare(query=query)
    apg.assert_step(step, query=query, args=list(args), prepared=True, **recorded)
    sandbox.verify_all()


async def test_many_executions_record_every_argument_row(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    query = "INSERT INTO t VALUES ($1, $2) RETURNING id"
    session(apg, ("prepare", None), ("executemany", None), ("fetchmany", [{"id": 1}]))
    conn = await asyncpg.connect()
    stmt = await conn.prepare(query)
    assert await stmt.executemany([(1, "a"), ["b", 2]], timeout=3) is None
    assert await stmt.fetchmany(["xy"]) == [{"id": 1}]
    apg.assert_connect()
    apg.assert_prepare(query=query)
    apg.assert_executemany(command=query, args=[[1, "a"], ["b", 2]], prepared=True, timeout=3)
    # A str is a sequence to asyncpg: "xy" is the arguments "x", "y".
    apg.assert_fetchmany(query=query, args=[["x", "y"]], prepared=True)
    sandbox.verify_all()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: s.fetch(1, 2), ClientCheckError, COUNT_MESSAGE),
        (lambda s: s.fetchval(1, 2), ClientCheckError, COUNT_MESSAGE),
        (lambda s: s.cursor(1, 2), ClientCheckError, COUNT_MESSAGE),
        (lambda s: s.executemany([(1,), (1, 2)]), ClientCheckError, COUNT_MESSAGE),
        (
            lambda s: s.executemany([(1,), 5]),
            ClientCheckError,
            "invalid input in executemany() argument sequence element #1: expected a sequence, "
            "got int",
        ),
        (
            lambda s: s.fetchmany([{"a": 1}]),
            ClientCheckError,
            "invalid input in executemany() argument sequence element #0: expected a sequence, "
            "got dict",
        ),
        (lambda s: s.executemany(5), TypeError, "'int' object is not iterable"),
        (lambda s: s.fetch(1, timeout="x"), ValueError, "could not convert string to float: 'x'"),
        (lambda s: s.fetchrow(1, timeout=0), asyncio.TimeoutError, ""),
        (
            lambda s: s.executemany([(1,)], timeout=[]),
            TypeError,
            "float() argument must be a string or a real number, not 'list'",
        ),
        (
            lambda s: s.fetch(1, record_class=MyRecord),
            TypeError,
            "PreparedStatement.fetch() got an unexpected keyword argument 'record_class'",
        ),
    ],
)
async def test_statement_calls_are_checked_like_asyncpg(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    call: Callable[[Any], Any],
    error: type[BaseException],
    message: str,
) -> None:
    session(apg, ("begin", None), ("prepare", None))
    conn = await asyncpg.connect()
    await conn.transaction().start()  # for the cursor case
    stmt = await conn.prepare("SELECT $1::int")
    with pytest.raises(error) as caught:
        result = call(stmt)
        await (result if inspect.isawaitable(result) else result.__await__())
    assert str(caught.value) == message
    if message.startswith("invalid input"):
        assert isinstance(caught.value, asyncpg.DataError)
    elif error is ClientCheckError:
        assert isinstance(caught.value, asyncpg.InterfaceError)
    sandbox.acknowledge_refusals()


async def test_a_description_that_contradicts_the_query_is_refused(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("prepare", Statement(parameters=("int4",))))
    conn = await asyncpg.connect()
    with pytest.raises(StepMismatchError) as caught:
        await conn.prepare("SELECT $1::int + $2::int")
    assert str(caught.value) == (
        "asyncpg session #1: prepare('SELECT $1::int + $2::int') was scripted with a Statement "
        "of 1 parameter(s), but the query uses 2.\nDescribe one type per $n of the query."
    )
    sandbox.acknowledge_refusals()


@pytest.mark.parametrize(
    ("step", "call"),
    [
        ("fetch", lambda s: s.fetch()),
        ("fetchrow", lambda s: s.fetchrow()),
        ("fetchmany", lambda s: s.fetchmany([()])),
    ],
)
async def test_rows_must_have_the_described_columns(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, step: str, call: Callable[[Any], Any]
) -> None:
    rows: Any = [{"id": 1, "email": "a@b"}]
    description = Statement(columns={"id": "int4", "name": "text"})
    session(apg, ("prepare", description), (step, rows[0] if step == "fetchrow" else rows))
    conn = await asyncpg.connect()
    stmt = await conn.prepare("SELECT id, name FROM users")
    with pytest.raises(StepMismatchError) as caught:
        await call(stmt)
    assert str(caught.value) == (
        f"asyncpg session #1: the rows scripted for {step}() of the statement 'SELECT id, name "
        "FROM users' have columns ['id', 'email'], but its prepare step describes "
        "['id', 'name'].\nScript rows with the statement's columns."
    )
    sandbox.acknowledge_refusals()


class OtherRecord(asyncpg.Record):
    pass


@pytest.mark.parametrize(
    ("connect_class", "prepare_class", "expected"),
    [
        (None, MyRecord, MyRecord),
        (OtherRecord, None, OtherRecord),
        (OtherRecord, MyRecord, MyRecord),
    ],
)
async def test_a_statements_rows_have_its_record_class(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    connect_class: Any,
    prepare_class: Any,
    expected: type,
) -> None:
    session(
        apg,
        ("prepare", None),
        ("begin", None),
        ("fetch", [{"n": 1}]),
        ("fetchrow", {"n": 1}),
        ("fetchmany", [{"n": 1}]),
        ("cursor", [{"n": 1}]),
    )
    conn = await asyncpg.connect(record_class=connect_class)
    stmt = await conn.prepare("SELECT $1::int AS n", record_class=prepare_class)
    await conn.transaction().start()
    rows = [
        *(await stmt.fetch(1)),
        await stmt.fetchrow(1),
        *(await stmt.fetchmany([(1,)])),
        *[row async for row in stmt.cursor(1)],
    ]
    assert [type(row).__name__ for row in rows] == [expected.__name__] * 4
    assert all(isinstance(row, expected) and row == {"n": 1} for row in rows)


@pytest.mark.parametrize(
    ("connect_class", "cursor_class", "expected"),
    [(None, None, None), (None, MyRecord, MyRecord), (OtherRecord, None, OtherRecord)],
)
async def test_a_cursors_rows_have_its_record_class(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    connect_class: Any,
    cursor_class: Any,
    expected: type | None,
) -> None:
    session(apg, ("begin", None), ("cursor", [{"n": 1}]), ("cursor", [{"n": 2}]))
    conn = await asyncpg.connect(record_class=connect_class)
    await conn.transaction().start()
    iterated = [row async for row in conn.cursor(QUERY, record_class=cursor_class)]
    fetched = await (await conn.cursor(QUERY, record_class=cursor_class)).fetch(1)
    for row in iterated + fetched:
        assert expected is None or isinstance(row, expected)
        assert type(row).__name__ == ("Record" if expected is None else expected.__name__)
    if cursor_class is None:
        apg.assert_connect(record_class=connect_class)
        apg.assert_begin()
        # The connection's default is not a keyword of cursor(): not recorded.
        apg.assert_cursor(query=QUERY, args=[])


# prepare() and the connection's state.


@pytest.mark.parametrize(
    ("query", "kwargs", "error", "message", "closes"),
    [
        (None, {}, AttributeError, "'NoneType' object has no attribute 'encode'", True),
        (b"SELECT 1", {}, TypeError, "Expected str, got bytes", True),
        (123, {}, TypeError, "Expected str, got int", True),
        ("SELECT 1", {"timeout": "x"}, ValueError, "could not convert string to float: 'x'", False),
        ("SELECT 1", {"timeout": 0}, asyncio.TimeoutError, "", False),
        (
            b"x",
            {"record_class": dict},
            asyncpg.InterfaceError,
            "record_class is expected to be a subclass of asyncpg.Record, got <class 'dict'>",
            False,
        ),
        (
            "SELECT 1",
            {"foo": 1},
            TypeError,
            "Connection.prepare() got an unexpected keyword argument 'foo'",
            False,
        ),
    ],
)
async def test_prepare_fails_where_asyncpg_fails(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    query: Any,
    kwargs: dict[str, Any],
    error: type[BaseException],
    message: str,
    closes: bool,
) -> None:
    session(apg)
    conn = await asyncpg.connect()
    with pytest.raises(error) as caught:
        await conn.prepare(query, **kwargs)
    assert str(caught.value) == message
    assert conn.is_closed() is closes
    sandbox.acknowledge_refusals()


async def test_a_duplicate_name_is_the_servers_error_to_script(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    duplicate = asyncpg.DuplicatePreparedStatementError('prepared statement "by_id" already exists')
    handle = session(apg, ("prepare", None))
    handle.expect("prepare", raises=duplicate)
    conn = await asyncpg.connect()
    await conn.prepare("SELECT 1", name="by_id")
    with pytest.raises(asyncpg.DuplicatePreparedStatementError):
        await conn.prepare("SELECT 2", name="by_id")
    apg.assert_connect()
    apg.assert_prepare(query="SELECT 1", name="by_id")
    apg.assert_prepare(query="SELECT 2", name="by_id")
    sandbox.verify_all()


async def test_prepare_is_refused_on_a_closed_connection_or_a_failed_transaction(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    handle = session(apg, ("begin", None), ("prepare", None))
    handle.expect("fetch", raises=asyncpg.UniqueViolationError("duplicate key"))
    handle.expect("rollback", returns=None).expect("close", returns=None)
    conn = await asyncpg.connect()
    transaction = conn.transaction()
    await transaction.start()
    stmt = await conn.prepare("SELECT 1")
    with pytest.raises(asyncpg.UniqueViolationError):
        await stmt.fetch()
    with pytest.raises(asyncpg.InFailedSQLTransactionError) as failed:
        await conn.prepare("SELECT 2")
    await transaction.rollback()
    await conn.close()
    with pytest.raises(asyncpg.InterfaceError) as closed:
        await conn.prepare("SELECT 3")
    assert str(failed.value) == (
        "current transaction is aborted, commands ignored until end of transaction block"
    )
    assert str(closed.value) == "connection is closed"
    sandbox.acknowledge_refusals()


# Use after close, release, or the sandbox.

STATEMENT_METHODS = [
    ("get_name", ()),
    ("get_query", ()),
    ("get_statusmsg", ()),
    ("get_parameters", ()),
    ("get_attributes", ()),
    ("fetch", ()),
    ("fetchrow", ()),
    ("fetchval", ()),
    ("fetchmany", ([],)),
    ("executemany", ([],)),
    ("explain", ()),
    ("cursor", ()),
]


@pytest.mark.parametrize(
    ("state", "why"),
    [("closed", "is closed"), ("released", "has been released back to the pool")],
)
async def test_a_statement_of_a_gone_connection_refuses_at_call_time(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, state: str, why: str
) -> None:
    handle = session(apg, ("prepare", None))
    conn = await asyncpg.connect()
    stmt = await conn.prepare("SELECT 1")
    # No pool here: the state a release leads to is set directly.
    handle.session.state = state
    for method, args in STATEMENT_METHODS:
        with pytest.raises(InvalidStateError) as caught:
            getattr(stmt, method)(*args)  # raises before any coroutine exists
        assert str(caught.value) == (
            f"cannot call PreparedStatement.{method}(): the underlying connection {why}"
        )
        assert isinstance(caught.value, asyncpg.InterfaceError)
    assert len(sandbox.acknowledge_refusals()) == len(STATEMENT_METHODS)


async def test_a_statement_used_after_its_sandbox_is_refused(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("prepare", None))
    async with verifier.sandbox():
        conn = await asyncpg.connect()
        stmt = await conn.prepare("SELECT 1")
    with pytest.raises(SandboxClosedError) as caught:
        stmt.get_name()
    assert str(caught.value).startswith(
        "asyncpg session #1: PreparedStatement.get_name() was called after the sandbox"
    )
    verifier.acknowledge_refusals()


# explain(): asyncpg's own fetchval of EXPLAIN.

PLAN = [{"Plan": {"Node Type": "Result", "Total Cost": 0.01}}]


async def test_explain_runs_the_connections_fetchval(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("prepare", None), ("fetchval", json.dumps(PLAN)))
    conn = await asyncpg.connect()
    stmt = await conn.prepare("SELECT $1::int")
    assert await stmt.explain(1) == PLAN
    apg.assert_connect()
    apg.assert_prepare(query="SELECT $1::int")
    apg.assert_fetchval(query="EXPLAIN (FORMAT JSON, VERBOSE) SELECT $1::int", args=[1])
    sandbox.verify_all()


async def test_explain_analyze_rolls_back_what_it_ran(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(
        apg, ("prepare", None), ("begin", None), ("fetchval", json.dumps(PLAN)), ("rollback", None)
    )
    conn = await asyncpg.connect()
    stmt = await conn.prepare("DELETE FROM t")
    assert await stmt.explain(analyze=True) == PLAN
    apg.assert_connect()
    apg.assert_prepare(query="DELETE FROM t")
    apg.assert_begin()
    apg.assert_fetchval(query="EXPLAIN (FORMAT JSON, VERBOSE, ANALYZE) DELETE FROM t", args=[])
    apg.assert_rollback()
    sandbox.verify_all()


async def test_explain_needs_the_json_text(sandbox: StrictVerifier, apg: AsyncpgPlugin) -> None:
    session(apg, ("prepare", None), ("fetchval", PLAN))
    conn = await asyncpg.connect()
    stmt = await conn.prepare("SELECT 1")
    with pytest.raises(TypeError) as caught:
        await stmt.explain()
    assert str(caught.value) == (
        "explain() parses the JSON text the server sends: script the fetchval step with "
        "returns=json.dumps(plan), got list"
    )


# Cursors: one step when opened, rows served locally.


async def test_cursor_sends_nothing_until_it_is_iterated(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg)
    conn = await asyncpg.connect()
    factory = conn.cursor(QUERY)
    assert isinstance(factory, CursorFactory) and not inspect.iscoroutine(factory)
    assert [n for n in dir(type(factory)) if not n.startswith("_")] == []
    apg.assert_connect()
    sandbox.verify_all()


@pytest.mark.parametrize(
    ("make", "recorded"),
    [
        (lambda c: c.cursor(QUERY), {"query": QUERY, "args": []}),
        (lambda c: c.cursor(QUERY, prefetch=2), {"query": QUERY, "args": [], "prefetch": 2}),
        (
            lambda c: c.cursor("SELECT $1::int AS n", 1, timeout=4, record_class=MyRecord),
            {"query": "SELECT $1::int AS n", "args": [1], "timeout": 4, "record_class": MyRecord},
        ),
    ],
)
async def test_iterating_takes_the_cursor_step_once(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, make: Callable[[Any], Any], recorded: Any
) -> None:
    session(apg, ("begin", None), ("cursor", ROWS), ("commit", None))
    conn = await asyncpg.connect()
    async with conn.transaction():
        got = [row["n"] async for row in make(conn)]
    assert got == [1, 2, 3, 4, 5]
    apg.assert_connect()
    apg.assert_begin()
    apg.assert_cursor(**recorded)
    apg.assert_commit()
    sandbox.verify_all()


async def test_a_statements_cursor_is_recorded_as_prepared(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    query = "SELECT g AS n FROM generate_series(1, $1::int) AS g"
    session(apg, ("prepare", None), ("begin", None), ("cursor", ROWS[:3]), ("commit", None))
    conn = await asyncpg.connect()
    stmt = await conn.prepare(query)
    async with conn.transaction():
        factory = stmt.cursor(3, prefetch=1)
        got = [row[0] async for row in factory]
    assert got == [1, 2, 3]
    apg.assert_connect()
    apg.assert_prepare(query=query)
    apg.assert_begin()
    apg.assert_cursor(query=query, args=[3], prefetch=1, prepared=True)
    apg.assert_commit()
    sandbox.verify_all()


async def test_a_cursor_outside_a_transaction_fails_when_it_opens(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg)
    conn = await asyncpg.connect()
    factory = conn.cursor(QUERY)  # asyncpg raises nothing yet
    iterator = factory.__aiter__()  # nor here
    with pytest.raises(asyncpg.NoActiveSQLTransactionError) as iterated:
        await iterator.__anext__()
    with pytest.raises(asyncpg.NoActiveSQLTransactionError) as awaited:
        await factory
    for caught in (iterated, awaited):
        assert str(caught.value) == "cursor cannot be created outside of a transaction"
        assert isinstance(caught.value, InvalidStateError)
    assert len(sandbox.acknowledge_refusals()) == 2


@pytest.mark.parametrize(
    ("open_it", "error", "message"),
    [
        (
            lambda c: c.cursor(QUERY, prefetch=0).__aiter__(),
            ClientCheckError,
            "prefetch argument must be greater than zero",
        ),
        (
            lambda c: c.cursor(QUERY, prefetch=-3).__aiter__(),
            ClientCheckError,
            "prefetch argument must be greater than zero",
        ),
        (
            lambda c: c.cursor(QUERY, prefetch="x").__aiter__(),
            TypeError,
            "'<=' not supported between instances of 'str' and 'int'",
        ),
        (
            lambda c: c.cursor(QUERY, prefetch=2).__await__(),
            ClientCheckError,
            "prefetch argument can only be specified for iterable cursor",
        ),
    ],
)
async def test_prefetch_is_checked_before_the_transaction(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    open_it: Callable[[Any], Any],
    error: type[Exception],
    message: str,
) -> None:
    session(apg)
    conn = await asyncpg.connect()
    with pytest.raises(error) as caught:
        open_it(conn)
    assert str(caught.value) == message
    if error is ClientCheckError:
        assert isinstance(caught.value, asyncpg.InterfaceError)
    sandbox.acknowledge_refusals()


@pytest.mark.parametrize(
    ("make", "error", "message", "closes"),
    [
        (
            lambda c: c.cursor("SELECT $1::int AS n"),
            ClientCheckError,
            "the server expects 1 argument for this query, 0 were passed\n"
            "HINT:  Check the query against the passed list of arguments.",
            False,
        ),
        (lambda c: c.cursor(b"SELECT 1"), TypeError, "Expected str, got bytes", True),
        (lambda c: c.cursor(None), TypeError, "object of type 'NoneType' has no len()", False),
        (
            lambda c: c.cursor(QUERY, record_class=dict),
            ClientCheckError,
            "record_class is expected to be a subclass of asyncpg.Record, got <class 'dict'>",
            False,
        ),
        (
            lambda c: c.cursor(QUERY, timeout="x"),
            ValueError,
            "could not convert string to float: 'x'",
            False,
        ),
        (lambda c: c.cursor(QUERY, timeout=0), asyncio.TimeoutError, "", False),
    ],
)
async def test_a_cursor_is_checked_like_asyncpg_when_it_opens(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    make: Callable[[Any], Any],
    error: type[BaseException],
    message: str,
    closes: bool,
) -> None:
    session(apg, ("begin", None))
    conn = await asyncpg.connect()
    await conn.transaction().start()
    factory = make(conn)
    with pytest.raises(error) as caught:
        await factory.__aiter__().__anext__()
    assert str(caught.value) == message
    assert conn.is_closed() is closes
    sandbox.acknowledge_refusals()


def op_outcome(value: Any) -> Any:
    if isinstance(value, list):
        return values(value)
    if value is None or isinstance(value, int):
        return value
    return tuple(value)


def asyncpg_class(error: BaseException) -> type[BaseException]:
    """The class production code would catch: the first one not tripwire's."""
    return next(c for c in type(error).__mro__ if not c.__module__.startswith("tripwire"))


async def run_ops(cursor: Any, ops: list[tuple[Any, ...]]) -> list[tuple[Any, bool]]:
    """Each (method, *args[, {kwargs}]) on *cursor*: its outcome and whether it is exhausted."""
    results = []
    for method, *args in ops:
        kwargs = args.pop() if args and isinstance(args[-1], dict) else {}
        try:
            result = op_outcome(await getattr(cursor, method)(*args, **kwargs))
        except Exception as error:
            result = (asyncpg_class(error).__name__, str(error))
        results.append((result, "exhausted" in repr(cursor)))
    return results


NOT_ZERO = ("InterfaceError", "n must be greater than zero")
CURSOR_SEQUENCES: list[tuple[str, list[tuple[Any, ...]], list[tuple[Any, bool]]]] = [
    (
        "mixed",
        [
            ("fetch", 2),
            ("fetchrow",),
            ("forward", 1),
            ("fetch", 1),
            ("fetch", 3),
            ("fetch", 1),
            ("fetchrow",),
            ("forward", 2),
        ],
        [
            ([1, 2], False),
            ((3,), False),
            (1, False),
            ([5], False),
            ([], True),
            ([], True),
            (None, True),
            (0, True),
        ],
    ),
    ("exact", [("fetch", 5), ("fetch", 5)], [([1, 2, 3, 4, 5], False), ([], True)]),
    (
        "forward to the end",
        [("forward", 5), ("fetchrow",), ("forward", 3)],
        [(5, False), (None, True), (0, True)],
    ),
    (
        "odd counts",
        [
            ("fetch", 0),
            ("fetch", -1),
            ("forward", 0),
            ("fetch", 2.5),
            ("forward", 2.5),
            ("fetch", "2"),
            ("fetch", True),
            ("forward", True),
        ],
        [
            (NOT_ZERO, False),
            (NOT_ZERO, False),
            (NOT_ZERO, False),
            ([1, 2], True),
            (("ValueError", "Unknown format code 'd' for object of type 'float'"), True),
            (("TypeError", "'<=' not supported between instances of 'str' and 'int'"), True),
            ([], True),
            (1, True),
        ],
    ),
    ("count truncated", [("fetch", 2.9)], [([1, 2], True)]),
    ("count below one", [("fetch", 0.5)], [([1, 2, 3, 4, 5], True)]),
    (
        "count too large",
        [("fetch", 10**12), ("fetch", 1)],
        [(("OverflowError", "value too large to convert to int"), False), ([1], False)],
    ),
    (
        "timeouts",
        [
            ("fetch", 1, {"timeout": "x"}),
            ("fetchrow", {"timeout": 0}),
            ("forward", 1, {"timeout": "y"}),
            ("forward", 1, {"timeout": True}),
            ("fetch", 9),
            ("fetch", 1, {"timeout": "x"}),
            ("fetchrow", {"timeout": "x"}),
        ],
        [
            (("ValueError", "could not convert string to float: 'x'"), False),
            (("TimeoutError", ""), False),
            (("ValueError", "invalid timeout value: expected non-negative float (got 'y')"), False),
            (
                ("ValueError", "invalid timeout value: expected non-negative float (got True)"),
                False,
            ),
            ([1, 2, 3, 4, 5], True),
            ([], True),
            (None, True),
        ],
    ),
]


@pytest.mark.parametrize(
    ("ops", "expected"), [s[1:] for s in CURSOR_SEQUENCES], ids=[s[0] for s in CURSOR_SEQUENCES]
)
async def test_an_awaited_cursor_serves_its_rows_as_asyncpg_does(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    ops: list[tuple[Any, ...]],
    expected: list[tuple[Any, bool]],
) -> None:
    session(apg, ("begin", None), ("cursor", ROWS), ("rollback", None))
    conn = await asyncpg.connect()
    transaction = conn.transaction()
    await transaction.start()
    cursor = await conn.cursor(QUERY)
    assert await run_ops(cursor, ops) == expected
    await transaction.rollback()
    sandbox.acknowledge_refusals(ClientCheckError)
    apg.assert_connect()
    apg.assert_begin()
    apg.assert_cursor(query=QUERY, args=[])  # one interaction, however many reads
    apg.assert_rollback()
    sandbox.verify_all()


async def test_cursor_reprs_look_like_asyncpgs(sandbox: StrictVerifier, apg: AsyncpgPlugin) -> None:
    session(apg, ("begin", None), ("cursor", ROWS[:1]), ("cursor", []))
    conn = await asyncpg.connect()
    await conn.transaction().start()
    query = "SELECT 1 AS n, 2 AS mmmmmmmmmmmmmmmmmmmmmmmm"
    cursor = await conn.cursor(query)
    assert repr(cursor) == f'<asyncpg.Cursor "SELECT 1 AS n, 2 AS mmmmmmmmmm" {id(cursor):#x}>'
    await cursor.fetch(2)
    assert repr(cursor) == (
        f'<asyncpg.Cursor "SELECT 1 AS n, 2 AS mmmmmmmmmm" exhausted {id(cursor):#x}>'
    )
    iterator = conn.cursor("SELECT 1").__aiter__()
    with pytest.raises(StopAsyncIteration):
        await iterator.__anext__()
    assert repr(iterator) == f'<asyncpg.CursorIterator "SELECT 1" exhausted {id(iterator):#x}>'
    assert repr(conn.cursor("SELECT 1")) == (
        "<tripwire asyncpg CursorFactory 'SELECT 1' asyncpg session #1>"
    )


async def iterate_across_commit(conn: Any, prefetch: int | None) -> list[Any]:
    """Iterate, committing after the first row: asyncpg fails at its next round trip."""
    transaction = conn.transaction()
    await transaction.start()
    got: list[Any] = []
    try:
        async for row in conn.cursor(QUERY, prefetch=prefetch):
            got.append(row[0])
            if len(got) == 1:
                await transaction.commit()
    except Exception as error:
        got.append((asyncpg_class(error).__name__, str(error)))
    return got


OUTSIDE = ("NoActiveSQLTransactionError", "cursor cannot be created outside of a transaction")
ACROSS_COMMIT = [
    (1, [1, OUTSIDE]),
    (2, [1, 2, OUTSIDE]),
    (5, [1, 2, 3, 4, 5, OUTSIDE]),
    (6, [1, 2, 3, 4, 5]),
    (None, [1, 2, 3, 4, 5]),
]


@pytest.mark.parametrize(("prefetch", "expected"), ACROSS_COMMIT)
async def test_iteration_checks_the_transaction_where_asyncpg_goes_back_to_the_server(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, prefetch: int | None, expected: list[Any]
) -> None:
    session(apg, ("begin", None), ("cursor", ROWS), ("commit", None))
    conn = await asyncpg.connect()
    assert await iterate_across_commit(conn, prefetch) == expected
    sandbox.acknowledge_refusals()


async def test_an_awaited_cursor_fails_after_its_transaction_ends(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("begin", None), ("cursor", ROWS), ("commit", None))
    conn = await asyncpg.connect()
    async with conn.transaction():
        cursor = await conn.cursor(QUERY)
        assert values(await cursor.fetch(1)) == [1]
    for read in (lambda: cursor.fetch(1), cursor.fetchrow, lambda: cursor.forward(1)):
        with pytest.raises(asyncpg.NoActiveSQLTransactionError) as caught:
            await read()
        assert str(caught.value) == "cursor cannot be created outside of a transaction"
    assert len(sandbox.acknowledge_refusals()) == 3


async def test_a_failed_transaction_fails_the_cursors_next_round_trip(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    handle = session(apg, ("begin", None), ("cursor", ROWS))
    handle.expect("execute", raises=asyncpg.UniqueViolationError("duplicate key"))
    handle.expect("rollback", returns=None)
    conn = await asyncpg.connect()
    with pytest.raises(asyncpg.UniqueViolationError):
        async with conn.transaction():
            cursor = await conn.cursor(QUERY)
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute("INSERT INTO t VALUES ($1)", 1)
            with pytest.raises(asyncpg.InFailedSQLTransactionError):
                await cursor.fetch(1)
            raise asyncpg.UniqueViolationError("duplicate key")
    sandbox.acknowledge_refusals()


async def test_cursors_of_a_closed_connection_refuse_at_call_time(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("begin", None), ("cursor", ROWS), ("cursor", ROWS), ("close", None))
    conn = await asyncpg.connect()
    await conn.transaction().start()
    factory = conn.cursor(QUERY)
    cursor = await factory
    iterator = factory.__aiter__()
    await iterator.__anext__()
    await conn.close()
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("CursorFactory.__aiter__", factory.__aiter__),
        ("CursorFactory.__await__", factory.__await__),
        ("CursorIterator.__aiter__", iterator.__aiter__),
        ("CursorIterator.__anext__", iterator.__anext__),
        ("Cursor.fetch", lambda: cursor.fetch(1)),
        ("Cursor.fetchrow", cursor.fetchrow),
        ("Cursor.forward", lambda: cursor.forward(1)),
    ]
    for name, call in calls:
        with pytest.raises(asyncpg.InterfaceError) as caught:
            call()
        assert str(caught.value) == f"cannot call {name}(): the underlying connection is closed"
    with pytest.raises(asyncpg.InterfaceError) as closed:
        conn.cursor(QUERY)
    assert str(closed.value) == "connection is closed"
    sandbox.acknowledge_refusals()


@pytest.mark.parametrize(
    ("call", "recorded", "fields"),
    [
        (lambda c: c.cursor(QUERY, prefetch=2), {"query": QUERY, "args": []}, "prefetch"),
        (lambda c: c.cursor(QUERY, timeout=1), {"query": QUERY, "args": []}, "timeout"),
    ],
)
async def test_cursor_keywords_given_must_be_asserted(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    call: Callable[[Any], Any],
    recorded: dict[str, Any],
    fields: str,
) -> None:
    session(apg, ("begin", None), ("cursor", []), ("commit", None))
    conn = await asyncpg.connect()
    async with conn.transaction():
        assert [row async for row in call(conn)] == []
    apg.assert_connect()
    apg.assert_begin()
    with pytest.raises(MissingAssertionFieldsError) as caught:
        apg.assert_cursor(**recorded)
    assert fields in str(caught.value)


# The fake against a real PostgreSQL: same values, types, errors and messages.

Body = Callable[[Any], Awaitable[Any]]


async def on_server(dsn: str, body: Body) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await body(conn)
    finally:
        if not conn.is_closed():
            await conn.close()


async def on_fake(steps: list[tuple[str, Any]], body: Body) -> Any:
    verifier = StrictVerifier()
    session(AsyncpgPlugin(verifier), *steps)
    async with verifier.sandbox():
        return await body(await asyncpg.connect())


async def attempt(call: Callable[[], Any]) -> Any:
    """What *call* returns (awaited if need be), or the asyncpg class and text it raised."""
    try:
        result = call()
        if inspect.isawaitable(result):
            result = await result
    except Exception as error:
        return (asyncpg_class(error).__name__, str(error))
    return result


DESCRIBED = [
    ("SELECT $1::int AS a, $2::text[] AS b", (1, ["x"])),
    ("SELECT $1::bigint AS big, $2::numeric AS n, $3::integer[] AS i", (5, 1.5, [1])),
    ("SELECT $1::int4range AS r, $2::varchar[] AS v, $3::jsonb AS j", (None, ["a"], '{"k": 1}')),
    ("SELECT $1::uuid AS u, $2::bool AS b, $3::bytea AS raw, $4::date[] AS d", (None,) * 4),
    (
        'SELECT $1::timestamptz AS t, $2::interval AS i, $3::char(2) AS c, $4::"char" AS k',
        (None,) * 4,
    ),
    ("SELECT $1::integer + 1 AS next, NULL AS nothing, ROW(1, 2) AS r", (1,)),
    ("SELECT 1 AS one WHERE $1::int > 0", (0,)),
    ("CREATE TEMP TABLE probe_t (a int)", ()),
]


@pytest.mark.postgres
@pytest.mark.parametrize(("query", "args"), DESCRIBED)
async def test_prepared_statements_match_the_server(
    postgres_dsn: str, query: str, args: tuple[Any, ...]
) -> None:
    async def describe(conn: Any) -> Any:
        stmt = await conn.prepare(query, name="probe")
        before = stmt.get_statusmsg()
        rows = await stmt.fetch(*args)
        return (
            stmt.get_name(),
            stmt.get_query(),
            before,
            stmt.get_parameters(),
            stmt.get_attributes(),
            [tuple(row) for row in rows],
            stmt.get_statusmsg(),
        )

    real = await on_server(postgres_dsn, describe)
    parameters, attributes, rows, status = real[3], real[4], real[5], real[6]
    names = [a.name for a in attributes]
    description = Statement(
        parameters=[t.name for t in parameters],
        columns=[(a.name, a.type.name) for a in attributes],
        status=status,
    )
    steps = [("prepare", description), ("fetch", [dict(zip(names, r, strict=True)) for r in rows])]
    fake = await on_fake(steps, describe)
    assert fake == real
    assert [type(t) for t in fake[3] + fake[4]] == [type(t) for t in real[3] + real[4]]


@pytest.mark.postgres
@pytest.mark.parametrize(("prefetch", "expected"), ACROSS_COMMIT)
async def test_cursor_iteration_matches_the_server(
    postgres_dsn: str, prefetch: int | None, expected: list[Any]
) -> None:
    async def body(conn: Any) -> Any:
        return await iterate_across_commit(conn, prefetch)

    real = await on_server(postgres_dsn, body)
    fake = await on_fake([("begin", None), ("cursor", ROWS), ("commit", None)], body)
    assert fake == real == expected


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("ops", "expected"), [s[1:] for s in CURSOR_SEQUENCES], ids=[s[0] for s in CURSOR_SEQUENCES]
)
async def test_awaited_cursor_reads_match_the_server(
    postgres_dsn: str, ops: list[tuple[Any, ...]], expected: list[tuple[Any, bool]]
) -> None:
    async def body(conn: Any) -> Any:
        transaction = conn.transaction()
        await transaction.start()
        cursor = await conn.cursor(QUERY)
        shown = repr(cursor).rsplit(" ", 1)[0]
        results = await run_ops(cursor, ops)
        await transaction.rollback()
        return shown, results

    real = await on_server(postgres_dsn, body)
    fake = await on_fake([("begin", None), ("cursor", ROWS), ("rollback", None)], body)
    assert fake == real == ('<asyncpg.Cursor "SELECT g AS n FROM generate_se"', expected)


async def statement_after_close(conn: Any) -> Any:
    stmt = await conn.prepare("SELECT 1")
    await conn.close()
    return [await attempt(lambda m=m, a=a: getattr(stmt, m)(*a)) for m, a in STATEMENT_METHODS]


async def cursors_after_close(conn: Any) -> Any:
    await conn.transaction().start()
    factory = conn.cursor(QUERY)
    cursor = await factory
    iterator = factory.__aiter__()
    first = await iterator.__anext__()
    await conn.close()
    calls = [
        factory.__aiter__,
        lambda: factory,
        iterator.__aiter__,
        iterator.__anext__,
        lambda: cursor.fetch(1),
        cursor.fetchrow,
        lambda: cursor.forward(1),
        lambda: conn.cursor(QUERY),
    ]
    return [tuple(first)] + [await attempt(call) for call in calls]


async def cursor_outside_a_transaction(conn: Any) -> Any:
    factory = conn.cursor(QUERY)
    iterator = factory.__aiter__()
    return [await attempt(iterator.__anext__), await attempt(lambda: factory)]


async def prefetch_checks(conn: Any) -> Any:
    return [
        await attempt(lambda: conn.cursor(QUERY, prefetch=0).__aiter__()),
        await attempt(lambda: conn.cursor(QUERY, prefetch="x").__aiter__()),
        await attempt(lambda: conn.cursor(QUERY, prefetch=2)),
    ]


async def statement_argument_checks(conn: Any) -> Any:
    stmt = await conn.prepare("SELECT $1::int")
    return [
        await attempt(lambda: stmt.fetch(1, 2)),
        await attempt(lambda: stmt.fetchval()),
        await attempt(lambda: stmt.executemany([(1,), (1, 2)])),
        await attempt(lambda: stmt.executemany([(1,), 5])),
        await attempt(lambda: stmt.fetchmany([{"a": 1}])),
        await attempt(lambda: stmt.executemany(5)),
        await attempt(lambda: stmt.fetch(1, timeout="x")),
        await attempt(lambda: stmt.fetchrow(1, timeout=0)),
        await attempt(lambda: stmt.fetchval(1, timeout=[])),
        await attempt(lambda: stmt.fetch(1, record_class=MyRecord)),
    ]


async def cursor_checks_in_a_transaction(conn: Any) -> Any:
    transaction = conn.transaction()
    await transaction.start()
    results = [
        await attempt(lambda: conn.cursor("SELECT $1::int AS n").__aiter__().__anext__()),
        await attempt(lambda: conn.cursor(QUERY, record_class=dict).__aiter__().__anext__()),
        await attempt(lambda: conn.cursor(QUERY, timeout="x").__aiter__().__anext__()),
        await attempt(lambda: conn.cursor(QUERY, timeout=0)),
        await attempt(lambda: conn.cursor(None).__aiter__().__anext__()),
    ]
    await transaction.rollback()
    return results


async def prepare_checks(conn: Any) -> Any:
    return [
        await attempt(lambda: conn.prepare("SELECT 1", timeout="x")),
        await attempt(lambda: conn.prepare("SELECT 1", timeout=0)),
        await attempt(lambda: conn.prepare(b"x", record_class=dict)),
        await attempt(lambda: conn.prepare("SELECT 1", foo=1)),
        (await conn.prepare("SELECT 1", name="")).get_name(),
        (await conn.prepare("SELECT 1", name=False)).get_name(),
    ]


def fatal(make: Callable[[Any], Any]) -> Body:
    async def body(conn: Any) -> Any:
        return await attempt(lambda: make(conn)), conn.is_closed()

    return body


async def in_transaction_fatal(conn: Any) -> Any:
    await conn.transaction().start()
    return await attempt(lambda: conn.cursor(b"SELECT 1").__aiter__().__anext__()), conn.is_closed()


SCENARIOS: list[tuple[str, list[tuple[str, Any]], Body]] = [
    ("statement after close", [("prepare", None), ("close", None)], statement_after_close),
    (
        "cursors after close",
        [("begin", None), ("cursor", ROWS), ("cursor", ROWS), ("close", None)],
        cursors_after_close,
    ),
    ("cursor outside a transaction", [], cursor_outside_a_transaction),
    ("prefetch checks", [], prefetch_checks),
    ("statement argument checks", [("prepare", None)], statement_argument_checks),
    ("cursor checks", [("begin", None), ("rollback", None)], cursor_checks_in_a_transaction),
    ("prepare checks", [("prepare", None), ("prepare", None)], prepare_checks),
    ("prepare None", [], fatal(lambda c: c.prepare(None))),
    ("prepare bytes", [], fatal(lambda c: c.prepare(b"SELECT 1"))),
    ("cursor bytes", [("begin", None)], in_transaction_fatal),
]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("steps", "body"), [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS]
)
async def test_errors_match_the_server(
    postgres_dsn: str, steps: list[tuple[str, Any]], body: Body
) -> None:
    real = await on_server(postgres_dsn, body)
    fake = await on_fake(steps, body)
    assert fake == real


@pytest.mark.postgres
async def test_explain_sends_what_asyncpg_sends(postgres_dsn: str) -> None:
    sent: list[str] = []

    async def body(conn: Any) -> Any:
        stmt = await conn.prepare("SELECT $1::int AS a")
        conn.add_query_logger(lambda logged: sent.append(logged.query))
        return await stmt.explain(1)

    plan = await on_server(postgres_dsn, body)
    assert sent == ["EXPLAIN (FORMAT JSON, VERBOSE) SELECT $1::int AS a"]
    verifier = StrictVerifier()
    apg = AsyncpgPlugin(verifier)
    session(apg, ("prepare", None), ("fetchval", json.dumps(plan)))
    async with verifier.sandbox():
        conn = await asyncpg.connect()
        stmt = await conn.prepare("SELECT $1::int AS a")
        assert await stmt.explain(1) == plan
    apg.assert_connect()
    apg.assert_prepare(query="SELECT $1::int AS a")
    apg.assert_fetchval(query=sent[0], args=[1])
    verifier.verify_all()
