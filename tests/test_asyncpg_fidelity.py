"""The fake against a real PostgreSQL: same results, same errors, same rows.

Each case runs once against the server and once against tripwire, scripted
with what the server answered, and the observable outcomes must be equal.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from tripwire import StrictVerifier
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin
from tripwire_drivers.asyncpg import Record

pytestmark = pytest.mark.postgres


def asyncpg_class(error: BaseException) -> type[BaseException]:
    """The class production code would catch: the first non-tripwire one."""
    return next(
        c for c in type(error).__mro__ if not c.__module__.startswith(("tripwire", "tripwire_"))
    )


async def outcome(call: Callable[[], Awaitable[Any]]) -> tuple[str, Any, Any]:
    try:
        value = await call()
    except Exception as error:
        return ("raised", asyncpg_class(error), str(error))
    return ("returned", type(value).__name__ if value is not None else None, value)


ARGUMENT_CASES = [
    ("SELECT $1::int + $2::int", (1,)),
    ("SELECT $1::int", (1, 2)),
    ("SELECT 1", (1,)),
    ("SELECT $1::int", ()),
    ("SELECT $2::int, $1::int", (1, 2)),
    ("SELECT '$1' || $1::text", ("x",)),
    ("SELECT $1::int -- and $2\n", (4,)),
    ("SELECT $1::int /* $3 */", (5,)),
    ("SELECT $tag$ $9 $tag$ || $1::text", ("y",)),
    ('SELECT 1 AS "$2"', ()),
    ("SELECT 1 AS a$1", ()),
    ("SELECT 1 /* outer /* inner */ $2 */ + $1::int", (1,)),
    ("SELECT E'\\'$3' || $1::text", ("z",)),
]


@pytest.mark.parametrize(("query", "args"), ARGUMENT_CASES)
async def test_argument_count_checks_match(
    postgres_dsn: str, query: str, args: tuple[Any, ...]
) -> None:
    real_conn = await asyncpg.connect(postgres_dsn)
    try:
        real = await outcome(lambda: real_conn.fetchval(query, *args))
    finally:
        await real_conn.close()

    verifier = StrictVerifier()
    apg = AsyncpgPlugin(verifier)
    session = apg.new_session().expect("connect", returns=None)
    if real[0] == "returned":
        session.expect("fetchval", returns=real[2])
    async with verifier.sandbox():
        fake_conn = await asyncpg.connect(postgres_dsn)
        fake = await outcome(lambda: fake_conn.fetchval(query, *args))
    assert fake == real


async def test_closed_connection_errors_match(postgres_dsn: str) -> None:
    real_conn = await asyncpg.connect(postgres_dsn)
    await real_conn.close()
    await real_conn.close()  # idempotent
    real = await outcome(lambda: real_conn.fetch("SELECT 1"))

    verifier = StrictVerifier()
    AsyncpgPlugin(verifier).new_session().expect("connect", returns=None).expect(
        "close", returns=None
    )
    async with verifier.sandbox():
        fake_conn = await asyncpg.connect(postgres_dsn)
        await fake_conn.close()
        await fake_conn.close()
        fake = await outcome(lambda: fake_conn.fetch("SELECT 1"))
        fake_closed = fake_conn.is_closed()
    assert fake == real == ("raised", asyncpg.InterfaceError, "connection is closed")
    assert fake_closed == real_conn.is_closed() is True


class RedefinesInit(asyncpg.Record):
    def __init__(self) -> None:
        pass


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [
        ("fetchval", {"record_class": None}),
        ("fetch", {"record_class": dict}),
        ("fetchrow", {"record_class": RedefinesInit}),
        ("fetch", {"colum": 1}),
    ],
)
async def test_bad_keywords_fail_the_same_way(
    postgres_dsn: str, method: str, kwargs: dict[str, Any]
) -> None:
    real_conn = await asyncpg.connect(postgres_dsn)
    try:
        real = await outcome(lambda: getattr(real_conn, method)("SELECT 1", **kwargs))
    finally:
        await real_conn.close()
    verifier = StrictVerifier()
    AsyncpgPlugin(verifier).new_session().expect("connect", returns=None)
    async with verifier.sandbox():
        fake_conn = await asyncpg.connect(postgres_dsn)
        fake = await outcome(lambda: getattr(fake_conn, method)("SELECT 1", **kwargs))
    assert fake == real
    assert real[0] == "raised"


ROW_OPERATIONS: list[tuple[str, Callable[[Any], Any]]] = [
    ("index", operator.itemgetter(0)),
    ("negative index", operator.itemgetter(-1)),
    ("slice", operator.itemgetter(slice(0, 2))),
    ("name", operator.itemgetter("b")),
    ("get name", lambda r: r.get("b")),
    ("get default", lambda r: r.get("zz", "dflt")),
    ("get by position", lambda r: r.get(0)),
    ("keys", lambda r: list(r.keys())),
    ("values", lambda r: list(r.values())),
    ("items", lambda r: list(r.items())),
    ("len", len),
    ("iter", list),
    ("tuple", tuple),
    ("dict", dict),
    ("contains name", lambda r: "a" in r),
    ("contains value", lambda r: 1 in r),
    ("bool", bool),
    ("equals tuple", lambda r: r == (1, "x", None)),
    ("tuple equals", lambda r: (1, "x", None) == r),  # noqa: SIM300  the reflected order
    ("equals list", lambda r: r == [1, "x", None]),
    ("less than tuple", lambda r: r < (2,)),
    ("hash", lambda r: hash(r) == hash((1, "x", None))),
    ("repr", repr),
    ("str", str),
    ("attribute", lambda r: r.a),
    ("index out of range", operator.itemgetter(5)),
    ("unknown name", operator.itemgetter("zz")),
    ("float key", operator.itemgetter(1.0)),
    ("bool key", operator.itemgetter(True)),
    ("unhashable in", lambda r: [] in r),
    ("get keyword", lambda r: r.get(key="a")),
    ("set item", lambda r: r.__setitem__("a", 2)),
]


def row_outcome(row: Any, operation: Callable[[Any], Any]) -> tuple[str, Any]:
    try:
        return ("returned", operation(row))
    except Exception as error:
        return ("raised", type(error))


@pytest.mark.parametrize(("name", "operation"), ROW_OPERATIONS, ids=[n for n, _ in ROW_OPERATIONS])
async def test_rows_behave_like_asyncpg_records(
    postgres_dsn: str, name: str, operation: Callable[[Any], Any]
) -> None:
    real_conn = await asyncpg.connect(postgres_dsn)
    try:
        real_row = await real_conn.fetchrow("SELECT 1 AS a, 'x' AS b, NULL::int AS c")
    finally:
        await real_conn.close()
    fake_row = Record({"a": 1, "b": "x", "c": None})
    assert row_outcome(fake_row, operation) == row_outcome(real_row, operation)


async def test_overlapping_operations_collide_as_on_the_server(postgres_dsn: str) -> None:
    async def both(conn: Any) -> list[Any]:
        results = await asyncio.gather(
            conn.fetchval("SELECT 1"), conn.fetchval("SELECT 2"), return_exceptions=True
        )
        return [(asyncpg_class(r), str(r)) if isinstance(r, BaseException) else r for r in results]

    real_conn = await asyncpg.connect(postgres_dsn)
    try:
        real = await both(real_conn)
        real_after = await real_conn.fetchval("SELECT 3")
    finally:
        await real_conn.close()

    verifier = StrictVerifier()
    apg = AsyncpgPlugin(verifier)
    apg.new_session().expect("connect", returns=None).expect("fetchval", returns=1).expect(
        "fetchval", returns=3
    )
    async with verifier.sandbox():
        fake_conn = await asyncpg.connect(postgres_dsn)
        fake = await both(fake_conn)
        fake_after = await fake_conn.fetchval("SELECT 3")
    assert (
        fake
        == real
        == [
            1,
            (asyncpg.InterfaceError, "cannot perform operation: another operation is in progress"),
        ]
    )
    assert fake_after == real_after == 3
    assert len(verifier.acknowledge_refusals()) == 1


async def test_sequential_operations_from_one_task_do_not_collide(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    handle = apg.new_session().expect("connect", returns=None)
    for value in range(3):
        handle.expect("fetchval", returns=value)
    async with verifier.sandbox():
        conn = await asyncpg.connect()
        assert [await conn.fetchval("SELECT 1") for _ in range(3)] == [0, 1, 2]
