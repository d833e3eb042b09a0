"""Contract: prepared statements and cursors."""

from __future__ import annotations

from typing import ClassVar

import asyncpg
import pytest

import tripwire
from tripwire_drivers.asyncpg import Statement, pg_error

from . import apps
from .harness import Contract, Scenario, Seen, cases

pytestmark = [pytest.mark.contract, pytest.mark.postgres]

FOUR_USERS = apps.USERS + (
    "INSERT INTO users (name, email) VALUES ('alice', 'a@x.org'), ('bob', 'b@x.org'), "
    "('carol', 'c@x.org'), ('dave', 'd@x.org');"
)
ROWS = [
    {"id": 1, "name": "alice", "email": "a@x.org"},
    {"id": 2, "name": "bob", "email": "b@x.org"},
    {"id": 3, "name": "carol", "email": "c@x.org"},
    {"id": 4, "name": "dave", "email": "d@x.org"},
]
NAMES = [{"name": row["name"]} for row in ROWS]


class LookupsReuseAPreparedStatement(Scenario):
    schema = FOUR_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        lookup = await conn.prepare(apps.GET_USER)
        seen.value("query", lookup.get_query())
        for user_id in (1, 3, 9):
            await seen.result(f"user {user_id}", lookup.fetchrow(user_id))
        await seen.result("name of 2", lookup.fetchval(2, column=1))
        await seen.result("as a list", lookup.fetch(4))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("prepare", returns=None)
            .expect("fetchrow", returns=ROWS[0])
            .expect("fetchrow", returns=ROWS[2])
            .expect("fetchrow", returns=None)
            .expect("fetchval", returns="bob")
            .expect("fetch", returns=[ROWS[3]])
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_prepare(query=apps.GET_USER)
        for user_id in (1, 3, 9):
            apg.assert_fetchrow(query=apps.GET_USER, args=[user_id], prepared=True)
        apg.assert_fetchval(query=apps.GET_USER, args=[2], column=1, prepared=True)
        apg.assert_fetch(query=apps.GET_USER, args=[4], prepared=True)
        apg.assert_close()


class PreparedExecutemany(Scenario):
    schema = apps.USERS
    people: ClassVar = [("alice", "a@x.org"), ("bob", "b@x.org")]

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        insert = await conn.prepare(apps.ADD_USER)
        await seen.result("executemany", insert.executemany(self.people))
        seen.value("status", insert.get_statusmsg())
        await seen.result("count", conn.fetchval(apps.COUNT_USERS))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("prepare", returns=None)
            .expect("executemany", returns=None)
            .expect("fetchval", returns=2)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_prepare(query=apps.ADD_USER)
        apg.assert_executemany(
            command=apps.ADD_USER, args=[list(p) for p in self.people], prepared=True
        )
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_close()


class PrepareFailsOnBadSql(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await seen.result("prepare", conn.prepare("SELECT * FROM nowhere WHERE id = $1"))
        seen.connection("after it", conn)
        await conn.close()

    def script(self) -> None:
        missing = pg_error("42P01", 'relation "nowhere" does not exist', position=15)
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("prepare", raises=missing)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_prepare(query="SELECT * FROM nowhere WHERE id = $1")
        apg.assert_close()


class PreparedStatementMisuse(Scenario):
    schema = FOUR_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        lookup = await conn.prepare(apps.GET_USER)
        await seen.result("no argument", lookup.fetchrow())
        await seen.result("two arguments", lookup.fetchval(1, 2))
        await conn.close()
        await seen.result("after close", lambda: lookup.fetchrow(1))

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("prepare", returns=None)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_prepare(query=apps.GET_USER)
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 3


class StatementDescribesItself(Scenario):
    """A generic exporter reads the column names and types from the statement."""

    schema = FOUR_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        lookup = await conn.prepare(apps.GET_USER)
        seen.value("parameters", lookup.get_parameters())
        seen.value("header", [(a.name, a.type.name) for a in lookup.get_attributes()])
        seen.value("status before running", lookup.get_statusmsg())
        await lookup.fetch(1)
        seen.value("status after fetch", lookup.get_statusmsg())
        await conn.close()

    def script(self) -> None:
        described = Statement(
            parameters=("int4",),
            columns={"id": "int4", "name": "text", "email": "text"},
            status="SELECT 1",
        )
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("prepare", returns=described)
            .expect("fetch", returns=[ROWS[0]])
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_prepare(query=apps.GET_USER)
        apg.assert_fetch(query=apps.GET_USER, args=[1], prepared=True)
        apg.assert_close()


class ExportThroughACursor(Scenario):
    schema = FOUR_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await seen.result("names", apps.export_names(conn, batch=3))
        seen.connection("after the export", conn)
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("cursor", returns=NAMES)
            .expect("commit", returns=None)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_cursor(query=apps.USER_NAMES, args=[], prefetch=3)
        apg.assert_commit()
        apg.assert_close()


class PageThroughACursor(Scenario):
    schema = FOUR_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await seen.result("first page, skipped, next", apps.page_through(conn))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("cursor", returns=ROWS)
            .expect("commit", returns=None)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_cursor(query=apps.ALL_USERS, args=[])
        apg.assert_commit()
        apg.assert_close()


class ScrollPastTheEnd(Scenario):
    schema = FOUR_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        async with conn.transaction():
            cursor = await conn.cursor(apps.USER_NAMES)
            await seen.result("three rows", cursor.fetch(3))
            await seen.result("skip ten", cursor.forward(10))
            await seen.result("next row", cursor.fetchrow())
            await seen.result("next two", cursor.fetch(2))
            await seen.result("fetch(0)", lambda: cursor.fetch(0))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("cursor", returns=NAMES)
            .expect("commit", returns=None)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_cursor(query=apps.USER_NAMES, args=[])
        apg.assert_commit()
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 1


class CursorInAManualTransaction(Scenario):
    """Code that sends BEGIN itself (a migration tool) and then streams a cursor."""

    schema = FOUR_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await conn.execute("BEGIN")
        names = [row["name"] async for row in conn.cursor(apps.USER_NAMES, prefetch=3)]
        seen.value("names", names)
        await conn.execute("COMMIT")
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("execute", returns="BEGIN")
            .expect("cursor", returns=NAMES)
            .expect("execute", returns="COMMIT")
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_execute(query="BEGIN", args=[])
        apg.assert_cursor(query=apps.USER_NAMES, args=[], prefetch=3)
        apg.assert_execute(query="COMMIT", args=[])
        apg.assert_close()


class CursorOutsideATransaction(Scenario):
    schema = FOUR_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)

        async def iterate() -> list[str]:
            return [row["name"] async for row in conn.cursor(apps.USER_NAMES)]

        await seen.result("async for", iterate())
        await seen.result("await", conn.cursor(apps.USER_NAMES))
        seen.connection("after both", conn)
        await conn.close()

    def script(self) -> None:
        tripwire.asyncpg.new_session().expect("connect", returns=None).expect("close", returns=None)

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 2


class CursorOutlivesItsTransaction(Scenario):
    """A generator that keeps reading a cursor after the transaction ended."""

    schema = FOUR_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        async with conn.transaction():
            rows = conn.cursor(apps.USER_NAMES, prefetch=2).__aiter__()
            await seen.result("first row", rows.__anext__())
            cursor = await conn.cursor(apps.USER_NAMES)
            await seen.result("first of the other", cursor.fetchrow())
        await seen.result("second row, prefetched", rows.__anext__())
        await seen.result("third row, after COMMIT", rows.__anext__())
        await seen.result("other cursor, after COMMIT", cursor.fetch(1))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("cursor", returns=NAMES)
            .expect("cursor", returns=NAMES)
            .expect("commit", returns=None)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_cursor(query=apps.USER_NAMES, args=[], prefetch=2)
        apg.assert_cursor(query=apps.USER_NAMES, args=[])
        apg.assert_commit()
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 2


class CursorArgumentsChecked(Scenario):
    schema = FOUR_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)

        async def first_row(*args: object, prefetch: int | None = None) -> object:
            async with conn.transaction():
                async for row in conn.cursor(apps.GET_USER, *args, prefetch=prefetch):
                    return row
            return None

        await seen.result("prefetch=0", first_row(1, prefetch=0))
        await seen.result("missing argument", first_row())
        await seen.result("await with prefetch", conn.cursor(apps.GET_USER, 1, prefetch=5))
        seen.connection("after them", conn)
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("rollback", returns=None)
            .expect("begin", returns=None)
            .expect("rollback", returns=None)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        for _ in range(2):
            apg.assert_begin()
            apg.assert_rollback()
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 3


@pytest.mark.parametrize(
    "scenario",
    cases(
        LookupsReuseAPreparedStatement,
        PreparedExecutemany,
        PrepareFailsOnBadSql,
        PreparedStatementMisuse,
        StatementDescribesItself,
        ExportThroughACursor,
        PageThroughACursor,
        ScrollPastTheEnd,
        CursorInAManualTransaction,
        CursorOutsideATransaction,
        CursorOutlivesItsTransaction,
        CursorArgumentsChecked,
    ),
)
async def test_same_outcome(scenario: type[Scenario], contract: Contract) -> None:
    await contract.check(scenario)
