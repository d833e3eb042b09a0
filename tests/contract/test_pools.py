"""Contract: a repository over a pool, shortcuts, hooks, gauges and concurrent requests."""

from __future__ import annotations

import asyncio
from typing import ClassVar
from unittest.mock import ANY

import asyncpg
import pytest

import tripwire

from . import apps
from .harness import Contract, Scenario, Seen, cases

pytestmark = [pytest.mark.contract, pytest.mark.postgres]

POOL_OPTIONS = {"min_size": 1, "max_size": 2}


class RepositoryOverAPool(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        async with asyncpg.create_pool(dsn, **POOL_OPTIONS) as pool:
            users = apps.UserRepository(pool)
            await seen.result("add alice", users.add("alice", "a@x.org"))
            await seen.result("add bob", users.add("bob", "b@x.org"))
            await seen.result("rename both", users.rename_all({1: "Alice", 2: "Bob"}))
            await seen.result("count", users.count())
            await seen.result("names", users.names())
        seen.value("closing after the block", pool.is_closing())

    def script(self) -> None:
        apg = tripwire.asyncpg
        (
            apg.new_pool()
            .expect("create_pool", returns=None)
            .expect("fetchval", returns=2)
            .expect("fetch", returns=[{"name": "Alice"}, {"name": "Bob"}])
            .expect("close", returns=None)
        )
        for user_id in (1, 2):
            (
                apg.new_session()
                .expect("acquire", returns=None)
                .expect("fetchval", returns=user_id)
                .expect("release", returns=None)
            )
        (
            apg.new_session()
            .expect("acquire", returns=None)
            .expect("begin", returns=None)
            .expect("execute", returns="UPDATE 1")
            .expect("execute", returns="UPDATE 1")
            .expect("commit", returns=None)
            .expect("release", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_create_pool(dsn=dsn, **POOL_OPTIONS)
        for name in ("alice", "bob"):
            apg.assert_acquire()
            apg.assert_fetchval(query=apps.INSERT_USER, args=[name, f"{name[0]}@x.org"])
            apg.assert_release()
        apg.assert_acquire()
        apg.assert_begin()
        apg.assert_execute(query=apps.RENAME_USER, args=[1, "Alice"])
        apg.assert_execute(query=apps.RENAME_USER, args=[2, "Bob"])
        apg.assert_commit()
        apg.assert_release()
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_fetch(query=apps.USER_NAMES, args=[])
        apg.assert_close()


class ExhaustedPoolTimesOut(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        async with asyncpg.create_pool(dsn, min_size=1, max_size=1) as pool:
            async with pool.acquire() as held:
                await seen.result("second acquire", pool.acquire(timeout=0.1))
                await seen.result("the held one works", held.fetchval("SELECT 1"))
            seen.value("size", (pool.get_size(), pool.get_idle_size()))

    def script(self) -> None:
        apg = tripwire.asyncpg
        apg.new_pool().expect("create_pool", returns=None).expect("close", returns=None)
        (
            apg.new_session()
            .expect("acquire", returns=None)
            .expect("fetchval", returns=1)
            .expect("release", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_create_pool(dsn=dsn, min_size=1, max_size=1)
        apg.assert_acquire()
        apg.assert_fetchval(query="SELECT 1", args=[])
        apg.assert_release()
        apg.assert_close()


class PoolSizesForMetrics(Scenario):
    """A metrics exporter reads the pool's gauges as connections come and go."""

    async def run(self, dsn: str, seen: Seen) -> None:
        def gauges(label: str) -> None:
            seen.value(label, (pool.get_size(), pool.get_idle_size(), pool.get_max_size()))

        async with asyncpg.create_pool(dsn, **POOL_OPTIONS) as pool:
            gauges("created")
            async with pool.acquire():
                gauges("one borrowed")
                async with pool.acquire():
                    gauges("two borrowed")
            gauges("both back")

    def script(self) -> None:
        apg = tripwire.asyncpg
        apg.new_pool().expect("create_pool", returns=None).expect("close", returns=None)
        for _ in range(2):
            apg.new_session().expect("acquire", returns=None).expect("release", returns=None)

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_create_pool(dsn=dsn, **POOL_OPTIONS)
        for _ in range(2):
            apg.assert_acquire()
        for _ in range(2):
            apg.assert_release()
        apg.assert_close()


class ConcurrentRequests(Scenario):
    """Request handlers running at once, each through the pool."""

    async def run(self, dsn: str, seen: Seen) -> None:
        async with asyncpg.create_pool(dsn, **POOL_OPTIONS) as pool:

            async def handler(number: int) -> int:
                async with pool.acquire() as conn:
                    value: int = await conn.fetchval("SELECT $1::int * 10", number)
                    return value

            both = await asyncio.gather(pool.fetchval("SELECT 1"), pool.fetchval("SELECT 2"))
            seen.value("two shortcuts at once", both)
            seen.value("two handlers at once", await asyncio.gather(handler(1), handler(2)))

    def script(self) -> None:
        apg = tripwire.asyncpg
        (
            apg.new_pool()
            .expect("create_pool", returns=None)
            .expect("fetchval", returns=1)
            .expect("fetchval", returns=2)
            .expect("close", returns=None)
        )
        for value in (10, 20):
            (
                apg.new_session()
                .expect("acquire", returns=None)
                .expect("fetchval", returns=value)
                .expect("release", returns=None)
            )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_create_pool(dsn=dsn, **POOL_OPTIONS)
        apg.assert_fetchval(query="SELECT 1", args=[])
        apg.assert_fetchval(query="SELECT 2", args=[])
        with tripwire.in_any_order():
            for number in (1, 2):
                apg.assert_acquire()
                apg.assert_fetchval(query="SELECT $1::int * 10", args=[number])
                apg.assert_release()
        apg.assert_close()


class ShortcutsForBulkWork(Scenario):
    """Code that never holds a connection: the pool's own query methods."""

    schema = apps.USERS
    people: ClassVar = [("alice", "a@x.org"), ("bob", "b@x.org")]

    async def run(self, dsn: str, seen: Seen) -> None:
        async with asyncpg.create_pool(dsn, **POOL_OPTIONS) as pool:
            await seen.result("executemany", pool.executemany(apps.ADD_USER, self.people))
            await seen.result("execute", pool.execute(apps.DEACTIVATE_ALL))
            await seen.result("fetchrow", pool.fetchrow(apps.GET_USER, 2))
            await seen.result("fetchval with too few arguments", pool.fetchval(apps.GET_USER))

    def script(self) -> None:
        (
            tripwire.asyncpg.new_pool()
            .expect("create_pool", returns=None)
            .expect("executemany", returns=None)
            .expect("execute", returns="UPDATE 2")
            .expect("fetchrow", returns={"id": 2, "name": "bob", "email": "b@x.org"})
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_create_pool(dsn=dsn, **POOL_OPTIONS)
        apg.assert_executemany(command=apps.ADD_USER, args=self.people)
        apg.assert_execute(query=apps.DEACTIVATE_ALL, args=[])
        apg.assert_fetchrow(query=apps.GET_USER, args=[2])
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 1


class SetupRunsOnEveryAcquire(Scenario):
    """A ``setup`` hook tags each borrowed connection, as multi-tenant services do."""

    async def run(self, dsn: str, seen: Seen) -> None:
        tagged: list[bool] = []

        async def setup(conn: asyncpg.Connection) -> None:
            tagged.append(isinstance(conn, asyncpg.Connection))
            await conn.execute("SET application_name = 'api'")

        async with asyncpg.create_pool(dsn, min_size=1, max_size=1, setup=setup) as pool:
            for attempt in (1, 2):
                async with pool.acquire() as conn:
                    name = conn.fetchval("SHOW application_name")
                    await seen.result(f"acquire {attempt}", name)
        seen.value("setup calls", tagged)

    def script(self) -> None:
        apg = tripwire.asyncpg
        pool = apg.new_pool()
        pool.expect("create_pool", returns=None).expect("close", returns=None)
        for _ in range(2):
            (
                apg.new_session()
                .expect("acquire", returns=None)
                .expect("execute", returns="SET")
                .expect("fetchval", returns="api")
                .expect("release", returns=None)
            )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_create_pool(dsn=dsn, min_size=1, max_size=1, setup=ANY)
        for _ in range(2):
            apg.assert_acquire()
            apg.assert_execute(query="SET application_name = 'api'", args=[])
            apg.assert_fetchval(query="SHOW application_name", args=[])
            apg.assert_release()
        apg.assert_close()


class InitRunsOncePerConnection(Scenario):
    """``init`` prepares each new connection; the pool reuses its one connection."""

    fake_differs = (
        "init never runs when the code uses only pool shortcuts: asyncpg runs it for each "
        "new connection (here the min_size=1 connection, at create_pool), the fake runs it "
        "per acquire only"
    )

    async def run(self, dsn: str, seen: Seen) -> None:
        opened: list[str] = []

        async def init(conn: asyncpg.Connection) -> None:
            opened.append("init")
            await conn.execute("SET application_name = 'api'")

        async with asyncpg.create_pool(dsn, min_size=1, max_size=1, init=init) as pool:
            for attempt in (1, 2):
                await seen.result(f"query {attempt}", pool.fetchval("SHOW application_name"))
        seen.value("connections initialised", opened)

    def script(self) -> None:
        apg = tripwire.asyncpg
        (
            apg.new_pool()
            .expect("create_pool", returns=None)
            .expect("fetchval", returns="api")
            .expect("fetchval", returns="")  # release ran RESET ALL
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_create_pool(dsn=dsn, min_size=1, max_size=1, init=ANY)
        apg.assert_fetchval(query="SHOW application_name", args=[])
        apg.assert_fetchval(query="SHOW application_name", args=[])
        apg.assert_close()


@pytest.mark.parametrize(
    "scenario",
    cases(
        RepositoryOverAPool,
        ExhaustedPoolTimesOut,
        PoolSizesForMetrics,
        ConcurrentRequests,
        ShortcutsForBulkWork,
        SetupRunsOnEveryAcquire,
        InitRunsOncePerConnection,
    ),
)
async def test_same_outcome(scenario: type[Scenario], contract: Contract) -> None:
    await contract.check(scenario)
