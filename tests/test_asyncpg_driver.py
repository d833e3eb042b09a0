"""The asyncpg fake: signatures, recorded fields, rows, and refusals by name."""

from __future__ import annotations

import inspect

import asyncpg
import pytest

from tripwire import ClientCheckError, NotSupportedError, SandboxClosedError, StrictVerifier
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin
from tripwire_drivers.asyncpg import Connection, Record


class MyRecord(asyncpg.Record):
    pass


async def connect_with(
    verifier: StrictVerifier, apg: AsyncpgPlugin, *args: object, **kw: object
) -> asyncpg.Connection:
    apg.new_session().expect("connect", returns=None)
    async with verifier.sandbox():
        return await asyncpg.connect(*args, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kwargs", "recorded"),
    [
        (
            ("postgresql://admin@localhost/myapp",),
            {},
            {"dsn": "postgresql://admin@localhost/myapp"},
        ),
        ((), {"dsn": "postgresql://h/db"}, {"dsn": "postgresql://h/db"}),
        ((), {"host": "localhost", "port": 5432}, {"host": "localhost", "port": 5432}),
        (("postgresql://h/db",), {"timeout": 5}, {"dsn": "postgresql://h/db", "timeout": 5}),
        ((), {}, {}),
    ],
)
async def test_connect_records_the_parameters_used(
    verifier: StrictVerifier,
    apg: AsyncpgPlugin,
    args: tuple[object, ...],
    kwargs: dict[str, object],
    recorded: dict[str, object],
) -> None:
    await connect_with(verifier, apg, *args, **kwargs)
    apg.assert_connect(**recorded)
    verifier.verify_all()


async def test_connect_rejects_unknown_keywords_like_asyncpg(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    with pytest.raises(TypeError, match=r"^connect\(\) got an unexpected keyword argument 'db'$"):
        await connect_with(verifier, apg, db="x")


async def test_fake_connection_passes_isinstance(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect_with(verifier, apg)
    assert isinstance(conn, asyncpg.Connection)
    # Even a sync method refuses once the sandbox that made it has closed.
    with pytest.raises(SandboxClosedError):
        conn.is_closed()
    assert len(verifier.acknowledge_refusals(SandboxClosedError)) == 1


@pytest.mark.parametrize(
    ("method", "call_kwargs", "recorded"),
    [
        ("fetch", {"timeout": 2.0}, {"timeout": 2.0}),
        ("fetch", {"record_class": MyRecord}, {"record_class": MyRecord}),
        ("fetchrow", {"timeout": 1}, {"timeout": 1}),
        ("fetchval", {"column": 1}, {"column": 1}),
        ("fetchval", {"column": 0, "timeout": None}, {}),
        ("execute", {"timeout": 3}, {"timeout": 3}),
    ],
)
async def test_keywords_given_are_recorded_and_must_be_asserted(
    tripwire_verifier: StrictVerifier,
    method: str,
    call_kwargs: dict[str, object],
    recorded: dict[str, object],
) -> None:
    import tripwire

    returns: object = {"fetch": [], "execute": "SELECT 1"}.get(method)
    tripwire.asyncpg.new_session().expect("connect", returns=None).expect(method, returns=returns)
    with tripwire:
        conn = await asyncpg.connect()
        await getattr(conn, method)("SELECT 1", **call_kwargs)
    tripwire.asyncpg.assert_connect()
    tripwire.asyncpg.assert_step(method, query="SELECT 1", args=[], **recorded)


async def test_return_types_follow_the_guide(tripwire_verifier: StrictVerifier) -> None:
    import tripwire

    (
        tripwire.asyncpg.new_session()
        .expect("connect", returns=None)
        .expect("fetch", returns=[{"id": 1, "name": "Alice"}])
        .expect("fetchrow", returns={"id": 1})
        .expect("fetchrow", returns=None)
        .expect("fetchval", returns=42)
        .expect("execute", returns="INSERT 0 1")
        .expect("close", returns=None)
    )
    with tripwire:
        conn = await asyncpg.connect()
        rows = await conn.fetch("SELECT id, name FROM users")
        row = await conn.fetchrow("SELECT id FROM users WHERE id = $1", 1)
        missing = await conn.fetchrow("SELECT id FROM users WHERE id = $1", 2)
        count = await conn.fetchval("SELECT count(*) FROM users")
        status = await conn.execute("INSERT INTO users (name) VALUES ($1)", "Bob")
        await conn.close()
        closed = conn.is_closed()
    assert rows == [{"id": 1, "name": "Alice"}]
    assert rows[0]["name"] == rows[0][1] == "Alice"
    assert row == {"id": 1} and row == (1,) and missing is None
    assert (count, status, closed) == (42, "INSERT 0 1", True)
    tripwire.asyncpg.assert_connect()
    tripwire.asyncpg.assert_fetch(query="SELECT id, name FROM users", args=[])
    tripwire.asyncpg.assert_fetchrow(query="SELECT id FROM users WHERE id = $1", args=[1])
    tripwire.asyncpg.assert_fetchrow(query="SELECT id FROM users WHERE id = $1", args=[2])
    tripwire.asyncpg.assert_fetchval(query="SELECT count(*) FROM users", args=[])
    tripwire.asyncpg.assert_execute(query="INSERT INTO users (name) VALUES ($1)", args=["Bob"])
    tripwire.asyncpg.assert_close()


async def test_argument_count_is_checked_before_the_script(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    apg.new_session().expect("connect", returns=None).expect("fetchval", returns=3)
    async with verifier.sandbox():
        conn = await asyncpg.connect()
        with pytest.raises(ClientCheckError) as caught:
            await conn.fetchval("SELECT $1::int + $2::int", 1)
        # The refused call did not consume the scripted step.
        assert await conn.fetchval("SELECT $1::int + $2::int", 1, 2) == 3
    assert str(caught.value) == (
        "the server expects 2 arguments for this query, 1 was passed\n"
        "HINT:  Check the query against the passed list of arguments."
    )
    assert isinstance(caught.value, asyncpg.InterfaceError)


async def test_unsupported_methods_fail_by_name(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect_with(verifier, apg)
    assert hasattr(conn, "add_query_logger")  # present, as on asyncpg
    with pytest.raises(NotSupportedError) as caught:
        conn.add_query_logger(print)
    assert str(caught.value).startswith(
        "asyncpg.Connection.add_query_logger() is not supported by tripwire's asyncpg fake"
    )
    assert verifier.acknowledge_refusals() == [caught.value]
    with pytest.raises(AttributeError, match="no attribute 'not_an_asyncpg_method'"):
        conn.not_an_asyncpg_method  # noqa: B018


def test_record_repr_and_dict_equality() -> None:
    row = Record({"id": 1, "name": "Alice"})
    assert repr(row) == "<Record id=1 name='Alice'>"
    assert row == {"id": 1, "name": "Alice"}
    assert row != {"id": 1, "name": "Bob"}
    assert row != [1, "Alice"]
    assert dict(row) == {"id": 1, "name": "Alice"}


def parameters(function: object) -> list[tuple[str, object, object]]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize("name", ["execute", "fetch", "fetchrow", "fetchval", "close", "is_closed"])
def test_methods_have_asyncpgs_signatures_and_shapes(name: str) -> None:
    fake = getattr(Connection, name)
    real = getattr(asyncpg.Connection, name)
    assert parameters(fake) == parameters(real)
    assert inspect.iscoroutinefunction(fake) == inspect.iscoroutinefunction(real)


def test_the_docs_show_the_state_diagram_the_driver_draws() -> None:
    from pathlib import Path

    from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin

    page = Path(__file__).resolve().parent.parent / "docs" / "asyncpg.md"
    shown = page.read_text().split("```mermaid\n", 1)[1].split("```", 1)[0]
    drawn = AsyncpgPlugin.machine.mermaid("asyncpg")
    assert shown.rstrip("\n") == drawn.rstrip("\n"), (
        "docs/asyncpg.md shows an old state diagram; replace its ```mermaid block with:\n" + drawn
    )
