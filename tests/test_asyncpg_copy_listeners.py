"""COPY, LISTEN/NOTIFY, log and termination listeners, type codecs and reset().

Signatures against the installed asyncpg, what each step records, the
client-side checks with asyncpg's messages, and how scripted notifications
reach callbacks.  The tests marked ``postgres`` run the same calls against a
real server and the fake (scripted with what the server answered) and
compare the outcomes.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import asyncpg
import asyncpg.exceptions
import pytest

from tripwire import (
    ClientCheckError,
    ConfigurationError,
    InvalidStateError,
    MissingAssertionFieldsError,
    NotSupportedError,
    RefusalError,
    StrictVerifier,
    UnacknowledgedRefusalsError,
)
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin
from tripwire_drivers.asyncpg import Connection, ServerInfo, SessionHandle
from tripwire_drivers.asyncpg.copying import CopyOut
from tripwire_drivers.asyncpg.listeners import check_notification, deliver_log, release_listeners

NOT_CALLABLE = "expected a callable or an `async def` function,got 5"
FAILED = "current transaction is aborted, commands ignored until end of transaction block"


def session(apg: AsyncpgPlugin, *steps: tuple[str, Any]) -> SessionHandle:
    """A connection session: connect, then each (step, returns)."""
    handle = apg.new_session().expect("connect", returns=None)
    for step, returns in steps:
        handle.expect(step, returns=returns)
    return handle


def asyncpg_class(error: BaseException) -> type[BaseException]:
    """The class production code catches: the first of the MRO outside tripwire."""
    return next(c for c in type(error).__mro__ if not c.__module__.startswith("tripwire"))


def parameters(function: object) -> list[tuple[str, object, object]]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


# Signatures and shapes.

IMPLEMENTED = [
    "copy_from_table",
    "copy_from_query",
    "copy_to_table",
    "copy_records_to_table",
    "add_listener",
    "remove_listener",
    "add_log_listener",
    "remove_log_listener",
    "add_termination_listener",
    "remove_termination_listener",
    "set_type_codec",
    "reset_type_codec",
    "set_builtin_type_codec",
    "reload_schema_state",
    "reset",
]


@pytest.mark.parametrize("name", IMPLEMENTED)
def test_methods_have_asyncpgs_signatures_and_shapes(name: str) -> None:
    fake = getattr(Connection, name)
    real = getattr(asyncpg.Connection, name)
    assert parameters(fake) == parameters(real)
    assert inspect.iscoroutinefunction(fake) == inspect.iscoroutinefunction(real)


@pytest.mark.parametrize(
    ("name", "args"),
    [("add_query_logger", (print,)), ("remove_query_logger", (print,)), ("query_logger", (print,))],
)
async def test_query_loggers_are_refused_by_name(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, name: str, args: tuple[Any, ...]
) -> None:
    session(apg)
    conn = await asyncpg.connect()
    assert hasattr(conn, name)
    with pytest.raises(NotSupportedError, match=rf"^asyncpg\.Connection\.{name}\(\) is not"):
        getattr(conn, name)(*args)
    assert len(sandbox.acknowledge_refusals(NotSupportedError)) == 1


# COPY into a table: what is recorded.


async def records_from(rows: list[Any]) -> AsyncIterator[Any]:
    for row in rows:
        yield row


@pytest.mark.parametrize(
    ("kwargs", "recorded"),
    [
        ({"records": [(1, "a"), (2, "b")]}, {"records": [(1, "a"), (2, "b")]}),
        ({"records": [[1, "a"]]}, {"records": [(1, "a")]}),
        ({"records": iter([(1, "a")])}, {"records": [(1, "a")]}),
        ({"records": []}, {"records": []}),
        (
            {"records": [(1, "a", "ignored")], "columns": ("id",)},
            {"records": [(1,)], "columns": ["id"]},
        ),
        (
            {"records": [(1,)], "schema_name": "app", "timeout": 5, "where": "id > 0"},
            {"records": [(1,)], "schema_name": "app", "timeout": 5, "where": "id > 0"},
        ),
        (
            {"records": [(1,)], "columns": None, "schema_name": None, "timeout": None},
            {"records": [(1,)]},
        ),
    ],
)
async def test_copy_records_to_table_records_the_rows_sent(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, kwargs: dict[str, Any], recorded: dict[str, Any]
) -> None:
    rows = len(recorded["records"])
    session(apg, ("copy_records_to_table", f"COPY {rows}"))
    conn = await asyncpg.connect()
    status = await conn.copy_records_to_table("users", **kwargs)
    assert status == f"COPY {rows}"
    apg.assert_connect()
    apg.assert_copy_records_to_table(table_name="users", **recorded)
    sandbox.verify_all()


async def test_copy_records_to_table_reads_async_iterables(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("copy_records_to_table", "COPY 2"))
    conn = await asyncpg.connect()
    await conn.copy_records_to_table("t", records=records_from([(1,), (2,)]))
    apg.assert_connect()
    apg.assert_copy_records_to_table(table_name="t", records=[(1,), (2,)])


async def test_a_copy_option_given_must_be_asserted(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("copy_records_to_table", "COPY 1"))
    conn = await asyncpg.connect()
    await conn.copy_records_to_table("t", records=[(1,)], columns=["id"])
    apg.assert_connect()
    with pytest.raises(MissingAssertionFieldsError):
        apg.assert_copy_records_to_table(table_name="t", records=[(1,)])
    # An option asserted as None (asyncpg's default) needs no recorded value.
    apg.assert_copy_records_to_table(table_name="t", records=[(1,)], columns=["id"], where=None)


async def test_a_status_that_does_not_count_the_records_fails_the_test(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("copy_records_to_table", "COPY 5"))
    async with verifier.sandbox():
        conn = await asyncpg.connect()
        assert await conn.copy_records_to_table("t", records=[(1,), (2,)]) == "COPY 5"
    apg.assert_connect()
    apg.assert_copy_records_to_table(table_name="t", records=[(1,), (2,)])
    with pytest.raises(UnacknowledgedRefusalsError, match="answers 'COPY 2', but the script"):
        verifier.verify_all()


class Chunks:
    """A file-like source that hands out its data in pieces."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = list(pieces)

    def read(self, size: int) -> bytes:
        return self.pieces.pop(0) if self.pieces else b""


async def chunks(*pieces: bytes | bytearray) -> AsyncIterator[bytes | bytearray]:
    for piece in pieces:
        yield piece


@pytest.mark.parametrize(
    "make_source",
    [
        lambda path: io.BytesIO(b"1\tAlice\n2\tBob\n"),
        lambda path: Chunks(b"1\tAlice\n", b"2\tBob\n"),
        lambda path: chunks(b"1\tAlice\n", bytearray(b"2\tBob\n")),
        lambda path: bytearray(b"1\tAlice\n2\tBob\n"),
        lambda path: memoryview(b"1\tAlice\n2\tBob\n"),
        lambda path: path,
        lambda path: str(path),
    ],
    ids=["BytesIO", "file-like", "async-iterable", "bytearray", "memoryview", "Path", "str"],
)
async def test_copy_to_table_records_the_bytes_read(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    tmp_path: Path,
    make_source: Callable[[Path], Any],
) -> None:
    path = tmp_path / "users.tsv"
    path.write_bytes(b"1\tAlice\n2\tBob\n")
    session(apg, ("copy_to_table", "COPY 2"))
    conn = await asyncpg.connect()
    assert await conn.copy_to_table("users", source=make_source(path)) == "COPY 2"
    apg.assert_connect()
    apg.assert_copy_to_table(table_name="users", data=b"1\tAlice\n2\tBob\n")
    sandbox.verify_all()


async def test_copy_to_table_records_its_options(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    options = {
        "columns": ["name"],
        "schema_name": "app",
        "timeout": 3,
        "format": "csv",
        "header": True,
        "delimiter": ";",
        "null": "",
        "force_not_null": ["name"],
        "force_quote": True,
        "where": "name <> ''",
        "encoding": "utf-8",
    }
    session(apg, ("copy_to_table", "COPY 1"))
    conn = await asyncpg.connect()
    await conn.copy_to_table("users", source=io.BytesIO(b"name\nAlice\n"), **options)
    apg.assert_connect()
    apg.assert_copy_to_table(table_name="users", data=b"name\nAlice\n", **options)


# COPY out of the server: what is written to output, and the status.


@pytest.mark.parametrize(
    ("returns", "kwargs", "written", "status"),
    [
        (b"1\tAlice\n2\tBob\n", {}, [b"1\tAlice\n2\tBob\n"], "COPY 2"),
        (b"", {}, [], "COPY 0"),
        ("COPY 3", {}, [], "COPY 3"),
        (
            b"id,name\n1,Alice\n",
            {"format": "csv", "header": True},
            [b"id,name\n1,Alice\n"],
            "COPY 1",
        ),
        (b'1,"two\nlines"\n2,x\n', {"format": "csv"}, [b'1,"two\nlines"\n2,x\n'], "COPY 2"),
        (b"1|'a\nb'\n", {"format": "csv", "quote": "'"}, [b"1|'a\nb'\n"], "COPY 1"),
        (b"1\n2", {}, [b"1\n2"], "COPY 2"),
        (CopyOut(b"1\n", status="COPY 7"), {}, [b"1\n"], "COPY 7"),
        (CopyOut([b"1\n", b"", b"2\n"]), {}, [b"1\n", b"2\n"], "COPY 2"),
        (
            CopyOut(b"PGCOPY\n\xff", status="COPY 1"),
            {"format": "binary"},
            [b"PGCOPY\n\xff"],
            "COPY 1",
        ),
    ],
)
async def test_copy_from_table_writes_the_scripted_data(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    returns: Any,
    kwargs: dict[str, Any],
    written: list[bytes],
    status: str,
) -> None:
    got: list[Any] = []

    async def output(data: Any) -> None:
        got.append(data)

    session(apg, ("copy_from_table", returns))
    conn = await asyncpg.connect()
    assert await conn.copy_from_table("users", output=output, **kwargs) == status
    # asyncpg hands each chunk over as a bytearray.
    assert got == written
    assert all(type(chunk) is bytearray for chunk in got)
    apg.assert_connect()
    apg.assert_copy_from_table(table_name="users", **kwargs)
    sandbox.verify_all()


async def test_copy_out_writes_to_paths_and_file_like_objects(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, tmp_path: Path
) -> None:
    session(
        apg,
        ("copy_from_query", b"a\n"),
        ("copy_from_query", b"b\n"),
        ("copy_from_table", b"c\n"),
    )
    conn = await asyncpg.connect()
    buffer = io.BytesIO()
    await conn.copy_from_query("SELECT $1::text, $2::int", "x", 5, output=buffer, format="csv")
    await conn.copy_from_query("SELECT 1", output=tmp_path / "b.csv")
    await conn.copy_from_table("t", output=str(tmp_path / "c.csv"), columns=["id"])
    assert buffer.getvalue() == b"a\n"
    assert (tmp_path / "b.csv").read_bytes() == b"b\n"
    assert (tmp_path / "c.csv").read_bytes() == b"c\n"
    apg.assert_connect()
    apg.assert_copy_from_query(query="SELECT $1::text, $2::int", args=["x", 5], format="csv")
    apg.assert_copy_from_query(query="SELECT 1", args=[])
    apg.assert_copy_from_table(table_name="t", columns=["id"])
    sandbox.verify_all()


async def test_a_failed_copy_out_leaves_the_file_it_opened_empty(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, tmp_path: Path
) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    missing = asyncpg.exceptions.UndefinedTableError('relation "nope" does not exist')
    apg.new_session().expect("connect", returns=None).expect("copy_from_table", raises=missing)
    conn = await asyncpg.connect()
    with pytest.raises(asyncpg.exceptions.UndefinedTableError):
        await conn.copy_from_table("nope", output=target)
    assert target.read_bytes() == b""


@pytest.mark.parametrize(
    ("returns", "message"),
    [
        ("INSERT 0 1", "expected a status string such as 'COPY 3', got 'INSERT 0 1'"),
        (3, "expected the bytes written to output, a CopyOut or 'COPY n', got 3"),
        (CopyOut, "expected the bytes written to output"),
    ],
)
def test_copy_out_returns_are_checked_at_expect_time(
    apg: AsyncpgPlugin, returns: Any, message: str
) -> None:
    handle = apg.new_session().expect("connect", returns=None)
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        handle.expect("copy_from_query", returns=returns)


@pytest.mark.parametrize("step", ["copy_to_table", "copy_records_to_table"])
def test_copy_in_returns_a_copy_status(apg: AsyncpgPlugin, step: str) -> None:
    handle = apg.new_session().expect("connect", returns=None)
    with pytest.raises(ConfigurationError, match="expected a status string such as 'COPY 3'"):
        handle.expect(step, returns="INSERT 0 1")
    with pytest.raises(TypeError, match="CopyOut data must be bytes"):
        CopyOut("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'COPY 3'"):
        CopyOut(b"", status="SELECT 1")


async def test_binary_data_needs_its_status(verifier: StrictVerifier, apg: AsyncpgPlugin) -> None:
    session(apg, ("copy_from_query", b"PGCOPY\n\xff\r\n\x00"))
    async with verifier.sandbox():
        conn = await asyncpg.connect()
        with pytest.raises(RefusalError, match=r"returns=CopyOut\(data, status='COPY n'\)"):
            await conn.copy_from_query("SELECT 1", output=io.BytesIO(), format="binary")
    assert len(verifier.acknowledge_refusals()) == 1


# COPY: asyncpg's client-side checks.


async def _sync_writer(data: Any) -> None:
    return None


CLIENT_ERRORS: list[tuple[str, Callable[[Any], Awaitable[Any]], type[BaseException], str]] = [
    (
        "output not writable",
        lambda c: c.copy_from_table("t", output=5),
        TypeError,
        "output is expected to be a file-like object, a path-like object or a coroutine "
        "function, not int",
    ),
    (
        "records not iterable",
        lambda c: c.copy_records_to_table("t", records=5),
        TypeError,
        "'int' object is not iterable",
    ),
    (
        "record not a sequence",
        lambda c: c.copy_records_to_table("t", records=[1]),
        TypeError,
        "'int' object is not subscriptable",
    ),
    (
        "record is a dict",
        lambda c: c.copy_records_to_table("t", records=[{"id": 1}]),
        KeyError,
        "0",
    ),
    (
        "record shorter than the columns",
        lambda c: c.copy_records_to_table("t", records=[(1,)], columns=["a", "b"]),
        IndexError,
        "tuple index out of range",
    ),
    (
        "bytes source is a path",
        lambda c: c.copy_to_table("t", source=b"/nonexistent/1\tx\n"),
        FileNotFoundError,
        "[Errno 2] No such file or directory: b'/nonexistent/1\\tx\\n'",
    ),
    (
        "text source",
        lambda c: c.copy_to_table("t", source=io.StringIO("1\tx\n")),
        TypeError,
        "memoryview: a bytes-like object is required, not 'str'",
    ),
    (
        "list source",
        lambda c: c.copy_to_table("t", source=[b"1\n"]),
        TypeError,
        "memoryview: a bytes-like object is required, not 'list'",
    ),
    (
        "timeout not a number",
        lambda c: c.copy_from_query("SELECT 1", output=io.BytesIO(), timeout="x"),
        ValueError,
        "could not convert string to float: 'x'",
    ),
    (
        "timeout zero",
        lambda c: c.copy_records_to_table("t", records=[], timeout=0),
        asyncio.TimeoutError,
        "",
    ),
    (
        "table name not a str",
        lambda c: c.copy_from_table(5, output=io.BytesIO()),
        AttributeError,
        "'int' object has no attribute 'replace'",
    ),
    (
        "option not a str",
        lambda c: c.copy_from_table("t", output=io.BytesIO(), null=5),
        AttributeError,
        "'int' object has no attribute 'replace'",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [case[1:] for case in CLIENT_ERRORS],
    ids=[case[0] for case in CLIENT_ERRORS],
)
async def test_copy_argument_errors_are_asyncpgs(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    call: Callable[[Any], Awaitable[Any]],
    error: type[BaseException],
    message: str,
) -> None:
    session(apg)
    conn = await asyncpg.connect()
    with pytest.raises(error) as caught:
        await call(conn)
    assert str(caught.value) == message
    # Nothing reached the script, and nothing was refused: asyncpg raises these itself.
    apg.assert_connect()
    sandbox.verify_all()


async def test_copy_from_query_checks_the_argument_count(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg)
    conn = await asyncpg.connect()
    with pytest.raises(asyncpg.InterfaceError) as caught:
        await conn.copy_from_query("SELECT $1::int", 1, 2, output=io.BytesIO())
    assert str(caught.value) == (
        "the server expects 1 argument for this query, 2 were passed\n"
        "HINT:  Check the query against the passed list of arguments."
    )
    assert isinstance(caught.value, ClientCheckError)
    assert len(sandbox.acknowledge_refusals()) == 1


async def test_copy_where_needs_postgresql_12(sandbox: StrictVerifier, apg: AsyncpgPlugin) -> None:
    apg.new_session().expect("connect", returns=ServerInfo(version=(11, 9)))
    conn = await asyncpg.connect()
    with pytest.raises(asyncpg.exceptions.UnsupportedServerFeatureError) as caught:
        await conn.copy_records_to_table("t", records=[(1,)], where="id > 0")
    assert str(caught.value) == "the `where` parameter requires PostgreSQL 12 or later"
    assert len(sandbox.acknowledge_refusals(ClientCheckError)) == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.copy_from_table("t", output=io.BytesIO()), "cannot perform operation: "),
        (
            lambda c: c.copy_from_query("SELECT 1", output=io.BytesIO()),
            "cannot perform operation: ",
        ),
        (lambda c: c.copy_to_table("t", source=io.BytesIO(b"")), "cannot perform operation: "),
        (lambda c: c.copy_from_query("SELECT $1::int", 1, output=io.BytesIO()), ""),
        (lambda c: c.copy_records_to_table("t", records=[]), ""),
    ],
)
async def test_copy_on_a_closed_connection(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, call: Callable[[Any], Awaitable[Any]], message: str
) -> None:
    session(apg, ("close", None))
    conn = await asyncpg.connect()
    await conn.close()
    with pytest.raises(asyncpg.InterfaceError) as caught:
        await call(conn)
    assert str(caught.value) == message + "connection is closed"
    assert len(sandbox.acknowledge_refusals(InvalidStateError)) == 1


async def test_copy_in_a_failed_transaction_is_refused_as_the_server_does(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    handle = session(apg, ("execute", "BEGIN"))
    handle.expect("fetchval", raises=asyncpg.exceptions.DivisionByZeroError("division by zero"))
    conn = await asyncpg.connect()
    await conn.execute("BEGIN")
    with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
        await conn.fetchval("SELECT 1/0")
    with pytest.raises(asyncpg.exceptions.InFailedSQLTransactionError, match=FAILED):
        await conn.copy_records_to_table("t", records=[(1,)])
    assert len(sandbox.acknowledge_refusals(InvalidStateError)) == 1


# LISTEN / NOTIFY.


def on_notify(*args: Any) -> None:
    pass


async def test_listener_calls_are_steps_recorded_every_time(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    async def on_other(*args: Any) -> None:
        pass

    session(
        apg,
        ("add_listener", None),
        ("add_listener", None),
        ("remove_listener", None),
        ("remove_listener", None),
        ("remove_listener", None),
    )
    conn = await asyncpg.connect()
    assert await conn.add_listener("jobs", on_notify) is None
    await conn.add_listener("jobs", on_other)
    await conn.remove_listener("jobs", on_notify)
    await conn.remove_listener("jobs", on_notify)  # no longer registered: still a call
    await conn.remove_listener("unknown", 5)  # asyncpg checks callbacks of known channels only
    apg.assert_connect()
    apg.assert_add_listener(channel="jobs", callback=on_notify)
    apg.assert_add_listener(channel="jobs", callback=on_other)
    apg.assert_remove_listener(channel="jobs", callback=on_notify)
    apg.assert_remove_listener(channel="jobs", callback=on_notify)
    apg.assert_remove_listener(channel="unknown", callback=5)
    sandbox.verify_all()


@pytest.mark.parametrize("method", ["add_listener", "remove_listener"])
async def test_a_callback_that_is_not_callable_is_refused(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, method: str
) -> None:
    session(apg, ("add_listener", None))
    conn = await asyncpg.connect()
    await conn.add_listener("jobs", on_notify)
    with pytest.raises(asyncpg.InterfaceError) as caught:
        await getattr(conn, method)("jobs", 5)
    assert str(caught.value) == NOT_CALLABLE
    assert isinstance(caught.value, ClientCheckError)
    assert len(sandbox.acknowledge_refusals(ClientCheckError)) == 1


async def test_listeners_on_a_closed_connection(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("close", None))
    conn = await asyncpg.connect()
    await conn.close()
    with pytest.raises(asyncpg.InterfaceError) as listen:
        await conn.add_listener("jobs", on_notify)
    with pytest.raises(asyncpg.InterfaceError) as log:
        conn.add_log_listener(on_notify)
    assert str(listen.value) == str(log.value) == "connection is closed"
    # Silent no-ops, as in asyncpg: nothing is recorded for them.
    assert await conn.remove_listener("jobs", on_notify) is None
    assert conn.remove_log_listener(on_notify) is None
    assert conn.add_termination_listener(on_notify) is None
    assert len(sandbox.acknowledge_refusals(InvalidStateError)) == 2


async def test_a_channel_that_is_not_a_str_fails_as_in_asyncpg(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg)
    conn = await asyncpg.connect()
    with pytest.raises(AttributeError, match="'int' object has no attribute 'replace'"):
        await conn.add_listener(5, on_notify)


class Heard:
    """Callbacks that note how they were called."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def sync(self, *args: Any) -> None:
        self.calls.append(("sync", asyncio.current_task() is None, *args))

    async def coroutine(self, *args: Any) -> None:
        self.calls.append(("async", *args))


async def test_a_scripted_notify_reaches_sync_and_async_callbacks(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    heard = Heard()
    (
        session(apg, ("add_listener", None), ("add_listener", None), ("execute", "NOTIFY"))
        .notify("jobs", "7")
        .notify("jobs", "8", pid=99)
    )
    conn = await asyncpg.connect()
    await conn.add_listener("jobs", heard.sync)
    await conn.add_listener("jobs", heard.coroutine)
    await conn.execute("NOTIFY jobs, '7'")
    await asyncio.sleep(0)
    own = conn.get_server_pid()
    assert heard.calls == [
        # Called from the loop (call_soon), not inside the caller's task.
        ("sync", True, conn, own, "jobs", "7"),
        ("async", conn, own, "jobs", "7"),
        ("sync", True, conn, 99, "jobs", "8"),
        ("async", conn, 99, "jobs", "8"),
    ]
    apg.assert_connect()
    apg.assert_add_listener(channel="jobs", callback=heard.sync)
    apg.assert_add_listener(channel="jobs", callback=heard.coroutine)
    apg.assert_execute(query="NOTIFY jobs, '7'", args=[])
    sandbox.verify_all()


async def test_notify_is_delivered_after_its_step_never_inline(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    heard = Heard()
    session(
        apg, ("add_listener", None), ("fetchval", 1), ("fetchval", 2), ("copy_from_query", b"")
    ).notify("jobs", "after step 4").expect("fetchval", returns=3).notify("jobs", "after step 5")
    conn = await asyncpg.connect()
    await conn.add_listener("jobs", heard.sync)
    await conn.fetchval("SELECT 1")
    await asyncio.sleep(0)
    assert heard.calls == []
    await conn.fetchval("SELECT 2")
    # COPY lets pending callbacks run before it returns, as asyncpg does for a
    # NOTIFY read with the response.
    await conn.copy_from_query("SELECT 1", output=io.BytesIO())
    assert [call[-1] for call in heard.calls] == ["after step 4"]
    await conn.fetchval("SELECT 3")
    # Queries, too, let the callbacks run (scheduled, not inline) before returning.
    assert [call[-1] for call in heard.calls] == ["after step 4", "after step 5"]


async def test_a_callback_added_twice_hears_once(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    heard = Heard()
    session(apg, ("add_listener", None), ("add_listener", None), ("execute", "NOTIFY")).notify(
        "jobs"
    )
    conn = await asyncpg.connect()
    await conn.add_listener("jobs", heard.sync)
    await conn.add_listener("jobs", heard.sync)
    await conn.execute("NOTIFY jobs")
    await asyncio.sleep(0)
    assert heard.calls == [("sync", True, conn, conn.get_server_pid(), "jobs", "")]


@pytest.mark.parametrize(
    ("steps", "listening"),
    [
        ([("execute", "NOTIFY")], "nothing"),
        ([("add_listener", None), ("execute", "NOTIFY")], "'other'"),
        ([("add_listener", None), ("remove_listener", None)], "nothing"),
        ([("add_listener", None), ("reset", None)], "nothing"),
    ],
)
async def test_a_notify_nobody_listens_to_fails_the_test(
    verifier: StrictVerifier, apg: AsyncpgPlugin, steps: list[tuple[str, Any]], listening: str
) -> None:
    heard = Heard()
    session(apg, *steps).notify("jobs", "lost")
    async with verifier.sandbox():
        conn = await asyncpg.connect()
        for step, _ in steps:
            if step == "add_listener":
                await conn.add_listener(
                    "other" if steps[-1][0] == "execute" else "jobs", heard.sync
                )
            elif step == "remove_listener":
                await conn.remove_listener("jobs", heard.sync)
            elif step == "reset":
                await conn.reset()
            else:
                await conn.execute("NOTIFY jobs, 'lost'")
        await asyncio.sleep(0)
    assert heard.calls == []  # as from a server: nothing arrives
    refusals = verifier.acknowledge_refusals()
    assert len(refusals) == 1
    assert str(refusals[0]).startswith(
        f"asyncpg session #1: a NOTIFY on channel 'jobs' is scripted after step "
        f"{len(steps) + 1} of {len(steps) + 1}, but the connection did not listen on 'jobs' "
        f"then (listening on: {listening})."
    )


@pytest.mark.parametrize(
    ("channel", "payload", "pid", "message"),
    [
        ("jobs", 7, None, "notify(channel, payload) takes two str"),
        (b"jobs", "", None, "notify(channel, payload) takes two str"),
        ("jobs", "", "1", "notify(pid=...) takes a backend pid"),
        ("jobs", "", -1, "notify(pid=...) takes a backend pid"),
    ],
)
def test_check_notification(channel: Any, payload: Any, pid: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_notification(channel, payload, pid)
    check_notification("jobs", "", None)
    check_notification("jobs", "x", 42)


# Log and termination listeners.


async def test_termination_listeners_hear_close_and_terminate(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    heard = Heard()
    session(apg, ("close", None))
    session(apg, ("terminate", None))
    first = await asyncpg.connect()
    second = await asyncpg.connect()
    first.add_termination_listener(heard.sync)
    first.add_termination_listener(heard.coroutine)
    second.add_termination_listener(heard.sync)
    second.add_termination_listener(heard.coroutine)
    second.remove_termination_listener(heard.coroutine)
    await first.close()
    second.terminate()
    assert heard.calls == []  # called soon, not inline
    await asyncio.sleep(0)
    assert heard.calls == [
        ("sync", True, first),
        ("async", first),
        ("sync", True, second),
    ]
    # Fired once, then forgotten.
    await first.close()
    await asyncio.sleep(0)
    assert len(heard.calls) == 3


@pytest.mark.parametrize(
    "method",
    [
        "add_log_listener",
        "remove_log_listener",
        "add_termination_listener",
        "remove_termination_listener",
    ],
)
async def test_local_listener_methods_check_the_callback(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, method: str
) -> None:
    session(apg)
    conn = await asyncpg.connect()
    with pytest.raises(asyncpg.InterfaceError) as caught:
        getattr(conn, method)(5)
    assert str(caught.value) == NOT_CALLABLE
    assert len(sandbox.acknowledge_refusals(ClientCheckError)) == 1


async def test_log_listeners_hear_scripted_server_messages(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    heard = Heard()
    handle = session(apg, ("execute", "DO"))
    handle.then(lambda: deliver_log(handle.session, "NOTICE", "low stock: 3"))
    handle.then(lambda: deliver_log(handle.session, "WARNING", "careful"))
    conn = await asyncpg.connect()
    conn.add_log_listener(heard.sync)
    conn.add_log_listener(heard.coroutine)
    conn.remove_log_listener(heard.coroutine)
    await conn.execute("DO $$ BEGIN RAISE NOTICE 'low stock: %', 3; END $$")
    await asyncio.sleep(0)
    notice, warning = (call[3] for call in heard.calls)
    assert [call[:3] for call in heard.calls] == [("sync", True, conn)] * 2
    assert type(notice) is asyncpg.exceptions.PostgresLogMessage
    assert (str(notice), notice.severity, notice.sqlstate) == (
        "PostgresLogMessage: low stock: 3",
        "NOTICE",
        "00000",
    )
    assert type(warning) is asyncpg.PostgresWarning
    assert (str(warning), warning.sqlstate) == ("PostgresWarning: careful", "01000")


# Codecs and reset().


@pytest.mark.parametrize(
    ("method", "kwargs", "recorded"),
    [
        (
            "set_type_codec",
            {"schema": "pg_catalog", "encoder": json.dumps, "decoder": json.loads},
            {"schema": "pg_catalog", "encoder": json.dumps, "decoder": json.loads},
        ),
        (
            "set_type_codec",
            {"encoder": str, "decoder": str, "format": "binary"},
            {"encoder": str, "decoder": str, "format": "binary"},
        ),
        (
            "set_type_codec",
            {"schema": "public", "encoder": str, "decoder": str, "format": "text"},
            {"encoder": str, "decoder": str},
        ),
        ("reset_type_codec", {}, {}),
        ("reset_type_codec", {"schema": "app"}, {"schema": "app"}),
        (
            "set_builtin_type_codec",
            {"codec_name": "pg_contrib.hstore"},
            {"codec_name": "pg_contrib.hstore"},
        ),
        (
            "set_builtin_type_codec",
            {"schema": "app", "codec_name": "int4", "format": "binary"},
            {"schema": "app", "codec_name": "int4", "format": "binary"},
        ),
    ],
)
async def test_codec_calls_record_the_type_and_the_keywords_given(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    method: str,
    kwargs: dict[str, Any],
    recorded: dict[str, Any],
) -> None:
    typename = "jsonb" if method == "set_type_codec" and "schema" in recorded else "money_t"
    session(apg, (method, None))
    conn = await asyncpg.connect()
    assert await getattr(conn, method)(typename, **kwargs) is None
    apg.assert_connect()
    apg.assert_step(method, typename=typename, **recorded)
    sandbox.verify_all()


async def test_codec_assertions_accept_asyncpgs_defaults(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(
        apg,
        ("set_type_codec", None),
        ("set_builtin_type_codec", None),
        ("reset_type_codec", None),
        ("reload_schema_state", None),
        ("reset", None),
        ("reset", None),
    )
    conn = await asyncpg.connect()
    await conn.set_type_codec("point_t", encoder=str, decoder=str)
    await conn.set_builtin_type_codec("hstore", codec_name="pg_contrib.hstore")
    await conn.reset_type_codec("point_t")
    await conn.reload_schema_state()
    await conn.reset()
    await conn.reset(timeout=2)
    apg.assert_connect()
    apg.assert_set_type_codec(
        typename="point_t", schema="public", encoder=str, decoder=str, format="text"
    )
    apg.assert_set_builtin_type_codec(
        typename="hstore", codec_name="pg_contrib.hstore", schema="public", format=None
    )
    apg.assert_reset_type_codec(typename="point_t", schema="public")
    apg.assert_reload_schema_state()
    apg.assert_reset()
    apg.assert_reset(timeout=2)
    sandbox.verify_all()


async def test_set_type_codec_must_name_the_functions(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("set_type_codec", None))
    conn = await asyncpg.connect()
    await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=str, decoder=str)
    apg.assert_connect()
    with pytest.raises(MissingAssertionFieldsError, match="encoder, decoder"):
        apg.assert_set_type_codec(typename="jsonb", schema="pg_catalog")
    apg.assert_set_type_codec(typename="jsonb", schema="pg_catalog", encoder=ANY, decoder=ANY)


CODEC_REFUSALS: list[tuple[str, Callable[[Any], Awaitable[Any]], type[BaseException], str]] = [
    (
        "built-in type in public",
        lambda c: c.set_type_codec("jsonb", encoder=str, decoder=str),
        ValueError,
        "unknown type: public.jsonb",
    ),
    (
        "reset of a built-in type in public",
        lambda c: c.reset_type_codec("uuid"),
        ValueError,
        "unknown type: public.uuid",
    ),
    (
        "alias of a built-in type in public",
        lambda c: c.set_builtin_type_codec("int4", codec_name="int8"),
        ValueError,
        "unknown type: public.int4",
    ),
    (
        "codec format",
        lambda c: c.set_type_codec(
            "jsonb", schema="pg_catalog", encoder=str, decoder=str, format="xml"
        ),
        asyncpg.InterfaceError,
        "invalid `format` argument, expected 'text', 'binary' or 'tuple', got 'xml'",
    ),
    (
        "builtin codec format",
        lambda c: c.set_builtin_type_codec(
            "int4", schema="pg_catalog", codec_name="int4", format="tuple"
        ),
        asyncpg.InterfaceError,
        "invalid `format` argument, expected 'text' or 'binary', got 'tuple'",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [case[1:] for case in CODEC_REFUSALS],
    ids=[case[0] for case in CODEC_REFUSALS],
)
async def test_codec_mistakes_asyncpg_reports(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    call: Callable[[Any], Awaitable[Any]],
    error: type[BaseException],
    message: str,
) -> None:
    session(apg)
    conn = await asyncpg.connect()
    with pytest.raises(error) as caught:
        await call(conn)
    assert str(caught.value) == message
    assert len(sandbox.acknowledge_refusals(ClientCheckError)) == 1


async def in_failed_transaction(apg: AsyncpgPlugin, *steps: tuple[str, Any]) -> Any:
    handle = session(apg, ("execute", "BEGIN"))
    handle.expect("fetchval", raises=asyncpg.exceptions.DivisionByZeroError("division by zero"))
    for step, returns in steps:
        handle.expect(step, returns=returns)
    conn = await asyncpg.connect()
    await conn.execute("BEGIN")
    with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
        await conn.fetchval("SELECT 1/0")
    return conn


async def test_codecs_in_a_failed_transaction(sandbox: StrictVerifier, apg: AsyncpgPlugin) -> None:
    conn = await in_failed_transaction(
        apg, ("set_type_codec", None), ("reset_type_codec", None), ("reload_schema_state", None)
    )
    # Built-in types need no lookup on the server; nor does reload_schema_state().
    await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=str, decoder=str)
    await conn.reset_type_codec("jsonb", schema="pg_catalog")
    await conn.reload_schema_state()
    with pytest.raises(asyncpg.exceptions.InFailedSQLTransactionError, match=FAILED):
        await conn.set_type_codec("point_t", encoder=str, decoder=str)
    assert len(sandbox.acknowledge_refusals(InvalidStateError)) == 1


async def test_reset_ends_the_transaction_and_drops_listeners(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, caplog: pytest.LogCaptureFixture
) -> None:
    heard = Heard()
    conn = await in_failed_transaction(apg, ("reset", None))
    conn.add_log_listener(heard.sync)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        await conn.reset()
    assert conn.is_in_transaction() is False
    assert conn._log_listeners == {}
    # asyncpg complains about a transaction the code left open.
    assert "Resetting connection with an active transaction" in caplog.text


@pytest.mark.parametrize(
    ("timeout", "error", "message"),
    [
        ("x", TypeError, "unsupported operand type(s) for +: 'float' and 'str'"),
        (0, asyncio.TimeoutError, ""),
        (-1, asyncio.TimeoutError, ""),
    ],
)
async def test_reset_timeouts(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    timeout: Any,
    error: type[BaseException],
    message: str,
) -> None:
    session(apg)
    conn = await asyncpg.connect()
    with pytest.raises(error) as caught:
        await conn.reset(timeout=timeout)
    assert str(caught.value) == message


async def test_codecs_and_reset_on_a_closed_connection(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("close", None))
    conn = await asyncpg.connect()
    await conn.close()
    for call in (
        lambda: conn.set_type_codec("jsonb", schema="pg_catalog", encoder=str, decoder=str),
        lambda: conn.set_builtin_type_codec("hstore", codec_name="pg_contrib.hstore"),
        conn.reset,
    ):
        with pytest.raises(asyncpg.InterfaceError) as caught:
            await call()
        assert str(caught.value) == "connection is closed"
    assert len(sandbox.acknowledge_refusals(InvalidStateError)) == 3


async def test_a_lookup_error_the_script_gives_runs_as_scripted(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    unknown = ValueError("unknown type: public.jsonb")
    apg.new_session().expect("connect", returns=None).expect("set_type_codec", raises=unknown)
    conn = await asyncpg.connect()
    with pytest.raises(ValueError) as caught:
        await conn.set_type_codec("jsonb", encoder=str, decoder=str)
    assert caught.value is unknown
    apg.assert_connect()
    apg.assert_set_type_codec(typename="jsonb", encoder=str, decoder=str)
    sandbox.verify_all()


# Against PostgreSQL: the fake, scripted with the server's answers, answers the same.


async def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        value = call()
        if inspect.isawaitable(value):
            value = await value
    except Exception as error:
        return ("raised", asyncpg_class(error), str(error))
    return ("returned", value)


TABLE = "CREATE TEMP TABLE t (a int, b text); INSERT INTO t VALUES (1, 'x'), (2, NULL)"


async def fake_connection(verifier: StrictVerifier, dsn: str, *steps: tuple[str, Any]) -> Any:
    handle = AsyncpgPlugin(verifier).new_session().expect("connect", returns=None)
    for step, returns in steps:
        handle.expect(step, returns=returns)
    return await asyncpg.connect(dsn)


COPY_OUT: list[tuple[str, Callable[[Any, Any], Awaitable[str]]]] = [
    ("copy_from_table", lambda c, out: c.copy_from_table("t", output=out)),
    (
        "copy_from_table",
        lambda c, out: c.copy_from_table("t", output=out, columns=["b"], format="csv", header=True),
    ),
    (
        "copy_from_query",
        lambda c, out: c.copy_from_query("SELECT * FROM t WHERE a > $1", 1, output=out),
    ),
    (
        "copy_from_query",
        lambda c, out: c.copy_from_query("SELECT 'a\nb' AS s, 1", output=out, format="csv"),
    ),
    ("copy_from_query", lambda c, out: c.copy_from_query("SELECT 1 WHERE false", output=out)),
]


@pytest.mark.postgres
@pytest.mark.parametrize(("step", "copy"), COPY_OUT)
async def test_copy_out_matches_the_server(
    postgres_dsn: str, step: str, copy: Callable[[Any, Any], Awaitable[str]]
) -> None:
    real_chunks: list[Any] = []
    fake_chunks: list[Any] = []

    async def real_output(data: Any) -> None:
        real_chunks.append(data)

    async def fake_output(data: Any) -> None:
        fake_chunks.append(data)

    real_conn = await asyncpg.connect(postgres_dsn)
    try:
        await real_conn.execute(TABLE)
        real_status = await copy(real_conn, real_output)
    finally:
        await real_conn.close()
    data = b"".join(real_chunks)

    verifier = StrictVerifier()
    async with verifier.sandbox():
        # Scripted with the bytes alone: the fake counts the rows for the status.
        fake_conn = await fake_connection(verifier, postgres_dsn, (step, data))
        fake_status = await copy(fake_conn, fake_output)
    assert fake_status == real_status
    assert b"".join(fake_chunks) == data
    assert {type(chunk) for chunk in fake_chunks} <= {bytearray}
    assert {type(chunk) for chunk in real_chunks} <= {bytearray}


COPY_IN: list[tuple[str, Callable[[Any, Path], Awaitable[str]]]] = [
    (
        "copy_records_to_table",
        lambda c, path: c.copy_records_to_table("t", records=[(5, "q"), (6, None)]),
    ),
    (
        "copy_records_to_table",
        lambda c, path: c.copy_records_to_table("t", records=[(7,)], columns=["a"]),
    ),
    (
        "copy_records_to_table",
        lambda c, path: c.copy_records_to_table("t", records=[(8, "w"), (9, "v")], where="a > 8"),
    ),
    ("copy_to_table", lambda c, path: c.copy_to_table("t", source=path)),
    (
        "copy_to_table",
        lambda c, path: c.copy_to_table(
            "t", source=io.BytesIO(b"a\n10\n"), format="csv", header=True, columns=["a"]
        ),
    ),
]


@pytest.mark.postgres
async def test_copy_in_statuses_match_the_server(postgres_dsn: str, tmp_path: Path) -> None:
    source = tmp_path / "rows.tsv"
    source.write_bytes(b"3\tz\n4\t\\N\n")
    real_conn = await asyncpg.connect(postgres_dsn)
    try:
        await real_conn.execute(TABLE)
        real = [await outcome(partial(call, real_conn, source)) for _, call in COPY_IN]
    finally:
        await real_conn.close()
    assert [r[1] for r in real] == ["COPY 2", "COPY 1", "COPY 1", "COPY 2", "COPY 1"]
    verifier = StrictVerifier()
    steps = [(step, result[1]) for (step, _), result in zip(COPY_IN, real, strict=True)]
    async with verifier.sandbox():
        fake_conn = await fake_connection(verifier, postgres_dsn, *steps)
        fake = [await outcome(partial(call, fake_conn, source)) for _, call in COPY_IN]
    assert fake == real
    assert verifier.acknowledge_refusals() == []


@pytest.mark.postgres
@pytest.mark.parametrize(
    "call",
    [case[1] for case in CLIENT_ERRORS] + [case[1] for case in CODEC_REFUSALS],
    ids=[case[0] for case in CLIENT_ERRORS] + [case[0] for case in CODEC_REFUSALS],
)
async def test_client_side_errors_match_the_server(
    postgres_dsn: str, call: Callable[[Any], Awaitable[Any]]
) -> None:
    real_conn = await asyncpg.connect(postgres_dsn)
    try:
        await real_conn.execute(TABLE)
        real = await outcome(lambda: call(real_conn))
    finally:
        real_conn.terminate()
    verifier = StrictVerifier()
    async with verifier.sandbox():
        fake_conn = await fake_connection(verifier, postgres_dsn)
        fake = await outcome(lambda: call(fake_conn))
    assert fake == real
    assert real[0] == "raised"


@pytest.mark.postgres
async def test_closed_connection_errors_match_the_server(postgres_dsn: str) -> None:
    calls: list[Callable[[Any], Any]] = [
        lambda c: c.copy_from_table("t", output=io.BytesIO()),
        lambda c: c.copy_from_query("SELECT 1", output=io.BytesIO()),
        lambda c: c.copy_from_query("SELECT $1::int", 1, output=io.BytesIO()),
        lambda c: c.copy_to_table("t", source=io.BytesIO(b"")),
        lambda c: c.copy_records_to_table("t", records=[]),
        lambda c: c.add_listener("ch", on_notify),
        lambda c: c.remove_listener("ch", on_notify),
        lambda c: c.add_log_listener(on_notify),
        lambda c: c.remove_log_listener(on_notify),
        lambda c: c.add_termination_listener(on_notify),
        lambda c: c.set_type_codec("jsonb", schema="pg_catalog", encoder=str, decoder=str),
        lambda c: c.reset(),
    ]
    real_conn = await asyncpg.connect(postgres_dsn)
    await real_conn.close()
    real = [await outcome(partial(call, real_conn)) for call in calls]
    verifier = StrictVerifier()
    async with verifier.sandbox():
        fake_conn = await fake_connection(verifier, postgres_dsn, ("close", None))
        await fake_conn.close()
        fake = [await outcome(partial(call, fake_conn)) for call in calls]
    assert fake == real


@pytest.mark.postgres
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.add_listener("ch", 5),
        lambda c: c.add_termination_listener(5),
        lambda c: c.add_log_listener(None),
        lambda c: c.reset(timeout="x"),
        lambda c: c.reset(timeout=0),
    ],
)
async def test_listener_and_reset_errors_match_the_server(
    postgres_dsn: str, call: Callable[[Any], Any]
) -> None:
    real_conn = await asyncpg.connect(postgres_dsn)
    try:
        real = await outcome(lambda: call(real_conn))
    finally:
        await real_conn.close()
    verifier = StrictVerifier()
    async with verifier.sandbox():
        fake_conn = await fake_connection(verifier, postgres_dsn)
        fake = await outcome(lambda: call(fake_conn))
    assert fake == real
    assert real[0] == "raised"


@pytest.mark.postgres
async def test_a_notify_reaches_callbacks_as_from_the_server(postgres_dsn: str) -> None:
    async def listen(conn: Any) -> list[tuple[Any, ...]]:
        calls: list[tuple[Any, ...]] = []
        arrived = asyncio.Event()

        def seen(kind: str, *args: Any) -> None:
            which, pid, channel, payload = args
            own = pid == conn.get_server_pid()
            types = tuple(type(a).__name__ for a in (pid, channel, payload))
            calls.append((kind, which is conn, own, channel, payload, types))

        def sync(*args: Any) -> None:
            seen(f"sync, from a task: {asyncio.current_task() is not None}", *args)

        async def coroutine(*args: Any) -> None:
            seen(f"async, from a task: {asyncio.current_task() is not None}", *args)
            arrived.set()

        await conn.add_listener("jobs", sync)
        await conn.add_listener("jobs", coroutine)
        await conn.execute("NOTIFY jobs, 'x'")
        await asyncio.wait_for(arrived.wait(), timeout=2)
        return sorted(calls)

    real_conn = await asyncpg.connect(postgres_dsn)
    try:
        real = await listen(real_conn)
    finally:
        await real_conn.close()
    verifier = StrictVerifier()
    apg = AsyncpgPlugin(verifier)
    steps = [("add_listener", None), ("add_listener", None), ("execute", "NOTIFY")]
    session(apg, *steps).notify("jobs", "x")
    async with verifier.sandbox():
        fake = await listen(await asyncpg.connect(postgres_dsn))
    assert fake == real
    assert real == [
        ("async, from a task: True", True, True, "jobs", "x", ("int", "str", "str")),
        ("sync, from a task: False", True, True, "jobs", "x", ("int", "str", "str")),
    ]


# For the pool: COPY shortcuts, and what a release does to listeners.


async def test_copy_steps_are_pool_shortcuts(sandbox: StrictVerifier, apg: AsyncpgPlugin) -> None:
    apg.new_pool().expect("create_pool", returns=None).expect(
        "copy_records_to_table", returns="COPY 1"
    ).expect("copy_from_query", returns=b"x\n").expect("close", returns=None)
    buffer = io.BytesIO()
    async with asyncpg.create_pool(min_size=0) as pool:
        assert await pool.copy_records_to_table("t", records=[(1,)]) == "COPY 1"
        assert await pool.copy_from_query("SELECT 1", output=buffer) == "COPY 1"
    assert buffer.getvalue() == b"x\n"
    apg.assert_create_pool(min_size=0)
    apg.assert_copy_records_to_table(table_name="t", records=[(1,)])
    apg.assert_copy_from_query(query="SELECT 1", args=[])
    apg.assert_close()
    sandbox.verify_all()


async def test_release_listeners_warns_as_asyncpg_and_drops_them(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    session(apg, ("add_listener", None), ("add_listener", None))
    conn = await asyncpg.connect()
    await conn.add_listener("a", on_notify)
    await conn.add_listener("b", print)
    conn.add_log_listener(on_notify)
    with pytest.warns(asyncpg.exceptions.InterfaceWarning) as caught:
        release_listeners(conn)
    # asyncpg names the raw connection behind the proxy.
    raw = f"<asyncpg.connection.Connection object at 0x{id(conn):x}>"
    assert [str(w.message) for w in caught] == [
        f"{raw} is being released to the pool but has 2 active notification listeners",
        f"{raw} is being released to the pool but has 1 active log listener",
    ]
    assert (conn._listeners, conn._log_listeners) == ({}, {})
    release_listeners(conn)  # nothing left: no warning
