"""Contract: bulk loads and exports through COPY."""

from __future__ import annotations

import io
from typing import ClassVar

import asyncpg
import pytest

import tripwire
from tripwire_drivers.asyncpg import pg_error

from . import apps
from .harness import Contract, Scenario, Seen, cases

pytestmark = [pytest.mark.contract, pytest.mark.postgres]

PEOPLE = [("alice", "a@x.org"), ("bob", "b@x.org"), ("carol", "c@x.org")]
TWO_USERS = apps.USERS + (
    "INSERT INTO users (name, email) VALUES ('alice', 'a@x.org'), ('bob', 'b@x.org');"
)
COLUMNS = ["name", "email"]


class BulkLoadWithCopy(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        await seen.result("copy three users in", apps.copy_users_in(store.conn, PEOPLE))
        await seen.result("names", store.names())
        await store.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("copy_records_to_table", returns="COPY 3")
            .expect("fetch", returns=[{"name": name} for name, _ in PEOPLE])
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_copy_records_to_table(table_name="users", records=PEOPLE, columns=COLUMNS)
        apg.assert_fetch(query=apps.USER_NAMES, args=[])
        apg.assert_close()


class CopyOfADuplicateLoadsNothing(Scenario):
    schema = apps.USERS
    rows: ClassVar = [("alice", "a@x.org"), ("alicia", "a@x.org")]

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        await seen.result("copy a duplicate pair", apps.copy_users_in(store.conn, self.rows))
        await seen.result("count", store.count())
        await store.close()

    def script(self) -> None:
        duplicate = pg_error(
            "23505",
            'duplicate key value violates unique constraint "users_email_key"',
            detail="Key (email)=(a@x.org) already exists.",
            constraint_name="users_email_key",
            table_name="users",
        )
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("copy_records_to_table", raises=duplicate)
            .expect("fetchval", returns=0)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_copy_records_to_table(table_name="users", records=self.rows, columns=COLUMNS)
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_close()


class ExportNamesAsCsv(Scenario):
    schema = TWO_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await seen.result("csv", apps.export_csv(conn))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("copy_from_query", returns=b"alice\nbob\n")
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_copy_from_query(query=apps.USER_NAMES, args=[], format="csv")
        apg.assert_close()


class ExportATableToAFile(Scenario):
    schema = TWO_USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        output = io.BytesIO()
        await seen.result(
            "copy out",
            conn.copy_from_table("users", output=output, columns=COLUMNS, format="csv"),
        )
        seen.value("file", output.getvalue())
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("copy_from_table", returns=b"alice,a@x.org\nbob,b@x.org\n")
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_copy_from_table(table_name="users", columns=COLUMNS, format="csv")
        apg.assert_close()


class ImportACsvFile(Scenario):
    schema = apps.USERS
    data = b"alice,a@x.org\nbob,b@x.org\n"

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        source = io.BytesIO(self.data)
        await seen.result(
            "copy in",
            conn.copy_to_table("users", source=source, columns=COLUMNS, format="csv"),
        )
        await seen.result("count", conn.fetchval(apps.COUNT_USERS))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("copy_to_table", returns="COPY 2")
            .expect("fetchval", returns=2)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_copy_to_table(table_name="users", data=self.data, columns=COLUMNS, format="csv")
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_close()


class CopyIntoAMissingColumn(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await seen.result(
            "copy",
            conn.copy_records_to_table("users", records=[("x",)], columns=["nickname"]),
        )
        seen.connection("after it", conn)
        await conn.close()

    def script(self) -> None:
        missing = pg_error("42703", 'column "nickname" does not exist')
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("copy_records_to_table", raises=missing)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_copy_records_to_table(table_name="users", records=[("x",)], columns=["nickname"])
        apg.assert_close()


class CopyRecordsOfTheWrongWidth(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        for label, rows in (("too short", [("alice",)]), ("too long", [("bob", "b@x.org", "x")])):
            await seen.result(label, apps.copy_users_in(conn, rows))
        await seen.result("what was kept", conn.fetch(apps.ALL_USERS))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("copy_records_to_table", returns="COPY 1")
            .expect("fetch", returns=[{"id": 1, "name": "bob", "email": "b@x.org"}])
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        # asyncpg sends as many values as there are columns: the extra one is dropped.
        apg.assert_copy_records_to_table(
            table_name="users", records=[("bob", "b@x.org")], columns=COLUMNS
        )
        apg.assert_fetch(query=apps.ALL_USERS, args=[])
        apg.assert_close()


class CopyOnAClosedConnection(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await conn.close()
        await seen.result("copy in", apps.copy_users_in(conn, PEOPLE))
        await seen.result("copy out", apps.export_csv(conn))

    def script(self) -> None:
        tripwire.asyncpg.new_session().expect("connect", returns=None).expect("close", returns=None)

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 2


@pytest.mark.parametrize(
    "scenario",
    cases(
        BulkLoadWithCopy,
        CopyOfADuplicateLoadsNothing,
        ExportNamesAsCsv,
        ExportATableToAFile,
        ImportACsvFile,
        CopyIntoAMissingColumn,
        CopyRecordsOfTheWrongWidth,
        CopyOnAClosedConnection,
    ),
)
async def test_same_outcome(scenario: type[Scenario], contract: Contract) -> None:
    await contract.check(scenario)
