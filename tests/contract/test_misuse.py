"""Contract: errors, misuse and timeouts on one connection."""

from __future__ import annotations

import asyncio

import pytest

import tripwire
from tripwire_drivers.asyncpg import pg_error

from . import apps
from .harness import Contract, Scenario, Seen, cases

pytestmark = [pytest.mark.contract, pytest.mark.postgres]

EMAIL = "alice@example.com"


class WrongArgumentCount(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        conn = store.conn
        await seen.result("too few", conn.fetchval(apps.GET_USER))
        await seen.result("too many", conn.fetchrow(apps.GET_USER, 1, 2))
        await seen.result("none expected", conn.fetch(apps.COUNT_USERS, 1))
        await seen.result("a tuple as one argument", conn.execute(apps.ADD_USER, ("a", EMAIL)))
        await seen.result("executemany row too short", conn.executemany(apps.ADD_USER, [("a",)]))
        seen.connection("still open", conn)
        await seen.result("a good query after them", store.count())
        await store.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchval", returns=0)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_close()
        # asyncpg refuses these before the server sees them; so does tripwire.
        assert len(tripwire.acknowledge_refusals()) == 5


class UseAfterClose(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        await store.close()
        await seen.result("close again", store.close())
        await seen.result("count after close", store.count())
        await seen.result("rename after close", store.rename(1, "x"))
        seen.connection("closed", store.conn)

    def script(self) -> None:
        tripwire.asyncpg.new_session().expect("connect", returns=None).expect("close", returns=None)

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 2


class TerminateThenUse(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        seen.call("terminate", store.conn.terminate)
        seen.connection("terminated", store.conn)
        await seen.result("count after terminate", store.count())
        await seen.result("close after terminate", store.close())

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("terminate", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_terminate()
        assert len(tripwire.acknowledge_refusals()) == 1


class ServerPidAfterTerminate(Scenario):
    """A shutdown hook logs the backend pid after terminating the connection."""

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = (await apps.open_store(dsn)).conn
        seen.value("pid before", isinstance(conn.get_server_pid(), int))
        conn.terminate()
        seen.call("log line", lambda: f"backend {conn.get_server_pid()} terminated")

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("terminate", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_terminate()


class QueryOfWrongTypeKillsTheConnection(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        await seen.result("a bytes query", store.conn.fetchval(b"SELECT 1"))
        seen.connection("after it", store.conn)
        await seen.result("close", store.close())

    def script(self) -> None:
        tripwire.asyncpg.new_session().expect("connect", returns=None)

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)


class TimeoutArguments(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = (await apps.open_store(dsn)).conn
        await seen.result("timeout=0", conn.fetchval("SELECT 1", timeout=0))
        await seen.result("negative timeout", conn.execute("SELECT 1", timeout=-1))
        await seen.result("timeout='soon'", conn.fetchval("SELECT 1", timeout="soon"))
        await seen.result("timeout=True", conn.fetch("SELECT 1", timeout=True))
        await seen.result("timeout='2' is a number", conn.fetchval("SELECT 1", timeout="2"))
        seen.connection("still usable", conn)
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchval", returns=1)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_fetchval(query="SELECT 1", args=[], timeout="2")
        tripwire.asyncpg.assert_close()


class QueryTimesOutAndConnectionRecovers(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = (await apps.open_store(dsn)).conn
        await seen.result("slow query", conn.fetchval("SELECT pg_sleep(10)", timeout=0.2))
        seen.connection("after the timeout", conn)
        await seen.result("next query", conn.fetchval("SELECT 1"))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchval", raises=asyncio.TimeoutError())
            .expect("fetchval", returns=1)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_fetchval(query="SELECT pg_sleep(10)", args=[], timeout=0.2)
        tripwire.asyncpg.assert_fetchval(query="SELECT 1", args=[])
        tripwire.asyncpg.assert_close()


class StatementTimeoutFromTheServer(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn, server_settings={"statement_timeout": "50"})
        await seen.result("slow query", store.conn.fetchval("SELECT pg_sleep(5)"))
        await seen.result("next query", store.conn.fetchval("SELECT 1"))
        await store.close()

    def script(self) -> None:
        cancelled = pg_error("57014", "canceling statement due to statement timeout")
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchval", raises=cancelled)
            .expect("fetchval", returns=1)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn, server_settings={"statement_timeout": "50"})
        apg.assert_fetchval(query="SELECT pg_sleep(5)", args=[])
        apg.assert_fetchval(query="SELECT 1", args=[])
        apg.assert_close()


class ServerErrors(Scenario):
    schema = apps.USERS
    queries = ("SELEC 1", "SELECT * FROM nope", "SELECT 1 / 0", "SELECT nope FROM users")

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = (await apps.open_store(dsn)).conn
        for query in self.queries:
            await seen.result(query, conn.fetch(query))
        await seen.result("still usable", conn.fetchval("SELECT 1"))
        await conn.close()

    def script(self) -> None:
        no_column = pg_error(
            "42703",
            'column "nope" does not exist',
            hint='Perhaps you meant to reference the column "users.name".',
        )
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetch", raises=pg_error("42601", 'syntax error at or near "SELEC"'))
            .expect("fetch", raises=pg_error("42P01", 'relation "nope" does not exist'))
            .expect("fetch", raises=pg_error("22012", "division by zero"))
            .expect("fetch", raises=no_column)
            .expect("fetchval", returns=1)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        for query in self.queries:
            tripwire.asyncpg.assert_fetch(query=query, args=[])
        tripwire.asyncpg.assert_fetchval(query="SELECT 1", args=[])
        tripwire.asyncpg.assert_close()


class IdFromAUrlIsAString(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        await seen.result("get('1')", store.get("1"))  # type: ignore[arg-type]
        await store.close()

    def script(self) -> None:
        bad_input = pg_error(
            "22000",
            "invalid input for query argument $1: '1' ('str' object cannot be interpreted "
            "as an integer)",
        )
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchrow", raises=bad_input)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_fetchrow(query=apps.GET_USER, args=["1"])
        tripwire.asyncpg.assert_close()


class GatherOnOneConnection(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)
        both = await asyncio.gather(store.count(), store.names(), return_exceptions=True)
        seen.value("count and names at once", both)
        await store.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchval", returns=0)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        tripwire.asyncpg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 1


class DeadlineWithWaitFor(Scenario):
    """A request deadline enforced with asyncio.wait_for around the query."""

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = (await apps.open_store(dsn)).conn
        slow = conn.fetchval("SELECT pg_sleep(10)")
        await seen.result("past the deadline", asyncio.wait_for(slow, timeout=0.2))
        seen.connection("after the cancellation", conn)
        await seen.result("next query", conn.fetchval("SELECT 1"))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchval", raises=asyncio.TimeoutError())
            .expect("fetchval", returns=1)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_fetchval(query="SELECT pg_sleep(10)", args=[])
        tripwire.asyncpg.assert_fetchval(query="SELECT 1", args=[])
        tripwire.asyncpg.assert_close()


class ConnectionUsedAsAContextManager(Scenario):
    """A common slip: ``async with await asyncpg.connect(...)``; a Connection is not one."""

    async def run(self, dsn: str, seen: Seen) -> None:
        store = await apps.open_store(dsn)

        async def use() -> None:
            async with store.conn:
                pass

        await seen.result("async with conn", use())
        await store.close()

    def script(self) -> None:
        tripwire.asyncpg.new_session().expect("connect", returns=None).expect("close", returns=None)

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_close()


class ConnectToAMissingDatabase(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        await seen.result("connect", apps.open_store(dsn, database="nope"))

    def script(self) -> None:
        missing = pg_error("3D000", 'database "nope" does not exist', severity="FATAL")
        tripwire.asyncpg.new_session().expect("connect", raises=missing)

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn, database="nope")


class ConnectOptionsCheckedUpFront(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        await seen.result("command_timeout=0", apps.open_store(dsn, command_timeout=0))
        await seen.result("statement_cache_size=-1", apps.open_store(dsn, statement_cache_size=-1))

    def script(self) -> None:
        """asyncpg refuses both before connecting: nothing to script."""

    def verify(self, dsn: str) -> None:
        """Nothing reached the server, so nothing to assert."""


@pytest.mark.parametrize(
    "scenario",
    cases(
        WrongArgumentCount,
        UseAfterClose,
        TerminateThenUse,
        ServerPidAfterTerminate,
        QueryOfWrongTypeKillsTheConnection,
        TimeoutArguments,
        QueryTimesOutAndConnectionRecovers,
        StatementTimeoutFromTheServer,
        ServerErrors,
        IdFromAUrlIsAString,
        GatherOnOneConnection,
        DeadlineWithWaitFor,
        ConnectionUsedAsAContextManager,
        ConnectToAMissingDatabase,
        ConnectOptionsCheckedUpFront,
    ),
)
async def test_same_outcome(scenario: type[Scenario], contract: Contract) -> None:
    await contract.check(scenario)
