"""Contract: CRUD on one connection: statuses, rows and the types of values."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import ClassVar

import asyncpg
import pytest

import tripwire
from tripwire_drivers.asyncpg import ServerInfo, pg_error, records

from . import apps
from .harness import Contract, Scenario, Seen, cases

pytestmark = [pytest.mark.contract, pytest.mark.postgres]

EMAIL = "alice@example.com"
ALICE = apps.USERS + "INSERT INTO users (name, email) VALUES ('alice', 'alice@example.com');"
PEOPLE = [("alice", "a@example.com"), ("bob", "b@example.com"), ("carol", "c@example.com")]


def duplicate_email(email: str) -> asyncpg.UniqueViolationError:
    """The error PostgreSQL raises for a second user with *email*."""
    return pg_error(
        "23505",
        'duplicate key value violates unique constraint "users_email_key"',
        detail=f"Key (email)=({email}) already exists.",
        constraint_name="users_email_key",
        table_name="users",
    )


class AddAndGetUser(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        user_id = await seen.result("add alice", store.add("alice", EMAIL))
        await seen.result("get her back", store.get(user_id))
        await seen.result("get a missing id", store.get(99))
        await seen.result("find by email", store.find_by_email(EMAIL))
        await store.close()
        seen.connection("after close", store.conn)

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchval", returns=1)
            .expect("fetchrow", returns={"id": 1, "name": "alice", "email": EMAIL})
            .expect("fetchrow", returns=None)
            .expect("fetchrow", returns={"id": 1, "name": "alice"})
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_fetchval(query=apps.INSERT_USER, args=["alice", EMAIL])
        apg.assert_fetchrow(query=apps.GET_USER, args=[1])
        apg.assert_fetchrow(query=apps.GET_USER, args=[99])
        apg.assert_fetchrow(query=apps.FIND_BY_EMAIL, args=[EMAIL])
        apg.assert_close()


class ListAndCountUsers(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        await seen.result("add three", store.add_many(PEOPLE))
        await seen.result("names", store.names())
        await seen.result("all rows", store.all())
        await seen.result("count", store.count())
        await seen.result("deactivate all", store.deactivate_all())
        await store.close()

    def script(self) -> None:
        rows = [
            {"id": n, "name": name, "email": email} for n, (name, email) in enumerate(PEOPLE, 1)
        ]
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("executemany", returns=None)
            .expect("fetch", returns=[{"name": "alice"}, {"name": "bob"}, {"name": "carol"}])
            .expect("fetch", returns=rows)
            .expect("fetchval", returns=3)
            .expect("execute", returns="UPDATE 3")
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_executemany(command=apps.ADD_USER, args=PEOPLE)
        apg.assert_fetch(query=apps.USER_NAMES, args=[])
        apg.assert_fetch(query=apps.ALL_USERS, args=[])
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_execute(query=apps.DEACTIVATE_ALL, args=[])
        apg.assert_close()


class RenameAndDelete(Scenario):
    schema = ALICE

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        await seen.result("rename alice", store.rename(1, "Alice"))
        await seen.result("rename nobody", store.rename(7, "Nobody"))
        await seen.result("delete alice", store.delete(1))
        await seen.result("delete her again", store.delete(1))
        await store.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("execute", returns="UPDATE 1")
            .expect("execute", returns="UPDATE 0")
            .expect("execute", returns="DELETE 1")
            .expect("execute", returns="DELETE 0")
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_execute(query=apps.RENAME_USER, args=[1, "Alice"])
        apg.assert_execute(query=apps.RENAME_USER, args=[7, "Nobody"])
        apg.assert_execute(query=apps.DELETE_USER, args=[1])
        apg.assert_execute(query=apps.DELETE_USER, args=[1])
        apg.assert_close()


class AddManyReturningIds(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        await seen.result("ids", store.add_many_returning(PEOPLE[:2]))
        await store.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchmany", returns=[{"id": 1}, {"id": 2}])
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_fetchmany(query=apps.INSERT_USER, args=PEOPLE[:2])
        apg.assert_close()


class RegisterWithTakenEmail(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        await seen.result("first registration", store.register("alice", EMAIL))
        await seen.result("same email again", store.register("alicia", EMAIL))
        await seen.result("the error itself", store.add("al", EMAIL))
        await seen.result("count", store.count())
        await store.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchval", returns=1)
            .expect("fetchval", raises=duplicate_email(EMAIL))
            .expect("fetchval", raises=duplicate_email(EMAIL))
            .expect("fetchval", returns=1)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_fetchval(query=apps.INSERT_USER, args=["alice", EMAIL])
        apg.assert_fetchval(query=apps.INSERT_USER, args=["alicia", EMAIL])
        apg.assert_fetchval(query=apps.INSERT_USER, args=["al", EMAIL])
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_close()


class ExecutemanyIsAtomic(Scenario):
    schema = apps.USERS
    pair: ClassVar = [("alice", EMAIL), ("alicia", EMAIL)]

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        await seen.result("add a duplicate pair", store.add_many(self.pair))
        await seen.result("nothing was added", store.count())
        await store.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("executemany", raises=duplicate_email(EMAIL))
            .expect("fetchval", returns=0)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_executemany(command=apps.ADD_USER, args=self.pair)
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_close()


TYPED_ROW = """
SELECT 42 AS small, 9007199254740993::int8 AS big, 1.5::float8 AS ratio,
       9.99::numeric(5, 2) AS price, true AS flag, 'x'::text AS label,
       '\\x0102'::bytea AS raw, DATE '2024-02-29' AS day,
       TIMESTAMPTZ '2024-02-29 12:00:00+00' AS at, INTERVAL '1 day' AS span,
       '11111111-2222-3333-4444-555555555555'::uuid AS uid, '{"a": 1}'::jsonb AS doc,
       ARRAY[1, 2] AS ints, NULL::int AS nothing
"""


class ValuesKeepTheirTypes(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = (await apps.open_store(dsn)).conn
        await seen.result("typed row", conn.fetchrow(TYPED_ROW))
        await conn.close()

    def script(self) -> None:
        row = {
            "small": 42,
            "big": 9007199254740993,
            "ratio": 1.5,
            "price": Decimal("9.99"),
            "flag": True,
            "label": "x",
            "raw": b"\x01\x02",
            "day": datetime.date(2024, 2, 29),
            "at": datetime.datetime(2024, 2, 29, 12, tzinfo=datetime.timezone.utc),
            "span": datetime.timedelta(days=1),
            "uid": uuid.UUID("11111111-2222-3333-4444-555555555555"),
            "doc": '{"a": 1}',  # json(b) arrives as text unless a codec is set
            "ints": [1, 2],
            "nothing": None,
        }
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchrow", returns=row)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_fetchrow(query=TYPED_ROW, args=[])
        tripwire.asyncpg.assert_close()


class FetchvalColumnsAndEmptyResults(Scenario):
    schema = ALICE
    two_rows = "SELECT * FROM (VALUES (1), (2)) v(n)"

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = (await apps.open_store(dsn)).conn
        await seen.result("column=1", conn.fetchval(apps.GET_USER, 1, column=1))
        await seen.result("column='email'", conn.fetchval(apps.GET_USER, 1, column="email"))
        await seen.result("no row", conn.fetchval(apps.GET_USER, 99))
        await seen.result("fetchval of an UPDATE", conn.fetchval(apps.RENAME_USER, 1, "x"))
        await seen.result("fetch of an UPDATE", conn.fetch(apps.RENAME_USER, 1, "y"))
        await seen.result("fetchrow of two rows", conn.fetchrow(self.two_rows))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchval", returns="alice")
            .expect("fetchval", returns=EMAIL)
            .expect("fetchval", returns=None)
            .expect("fetchval", returns=None)
            .expect("fetch", returns=[])
            .expect("fetchrow", returns={"n": 1})
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_fetchval(query=apps.GET_USER, args=[1], column=1)
        apg.assert_fetchval(query=apps.GET_USER, args=[1], column="email")
        apg.assert_fetchval(query=apps.GET_USER, args=[99])
        apg.assert_fetchval(query=apps.RENAME_USER, args=[1, "x"])
        apg.assert_fetch(query=apps.RENAME_USER, args=[1, "y"])
        apg.assert_fetchrow(query=self.two_rows, args=[])
        apg.assert_close()


class SeveralStatementsInOneExecute(Scenario):
    schema = apps.USERS
    statements = (
        "INSERT INTO users (name, email) VALUES ('a', 'a@example.com');"
        "INSERT INTO users (name, email) VALUES ('b', 'b@example.com');"
        "UPDATE users SET active = false"
    )

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = (await apps.open_store(dsn)).conn
        await seen.result("execute a script", conn.execute(self.statements))
        await seen.result("fetch two statements", conn.fetch("SELECT 1; SELECT 2"))
        await conn.close()

    def script(self) -> None:
        several = pg_error("42601", "cannot insert multiple commands into a prepared statement")
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("execute", returns="UPDATE 2")
            .expect("fetch", raises=several)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_execute(query=self.statements, args=[])
        tripwire.asyncpg.assert_fetch(query="SELECT 1; SELECT 2", args=[])
        tripwire.asyncpg.assert_close()


class RowsOfARecordClass(Scenario):
    schema = ALICE

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        await seen.result("displayed", store.all_displayed())
        await seen.result("rows", store.conn.fetch(apps.ALL_USERS, record_class=apps.UserRecord))
        await store.close()

    def script(self) -> None:
        rows = [{"id": 1, "name": "alice", "email": EMAIL}]
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetch", returns=rows)
            .expect("fetch", returns=rows)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        for _ in range(2):
            tripwire.asyncpg.assert_fetch(
                query=apps.ALL_USERS, args=[], record_class=apps.UserRecord
            )
        tripwire.asyncpg.assert_close()


class SerializerDispatchesOnRecord(Scenario):
    """Code that tells rows apart with isinstance: scripted with genuine Records."""

    schema = ALICE

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        seen.value("as json", apps.to_json(await store.all()))
        await store.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetch", returns=records(["id", "name", "email"], [(1, "alice", EMAIL)]))
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_fetch(query=apps.ALL_USERS, args=[])
        tripwire.asyncpg.assert_close()


class SerializerGivenDictRows(SerializerDispatchesOnRecord):
    """The same code scripted with plain dict rows, the default."""

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetch", returns=[{"id": 1, "name": "alice", "email": EMAIL}])
            .expect("close", returns=None)
        )


class ServerFacts(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = (await apps.open_store(dsn)).conn
        seen.value("has MERGE", conn.get_server_version() >= (15, 0))
        seen.value("client encoding", conn.get_settings().client_encoding)
        seen.value("pid is an int", isinstance(conn.get_server_pid(), int))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=ServerInfo(version=(18, 0)))
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_close()


@pytest.mark.parametrize(
    "scenario",
    cases(
        AddAndGetUser,
        ListAndCountUsers,
        RenameAndDelete,
        AddManyReturningIds,
        RegisterWithTakenEmail,
        ExecutemanyIsAtomic,
        ValuesKeepTheirTypes,
        FetchvalColumnsAndEmptyResults,
        SeveralStatementsInOneExecute,
        RowsOfARecordClass,
        SerializerDispatchesOnRecord,
        SerializerGivenDictRows,
        ServerFacts,
    ),
)
async def test_same_outcome(scenario: type[Scenario], contract: Contract) -> None:
    await contract.check(scenario)
