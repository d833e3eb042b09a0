"""Contract: pools used the wrong way: after release or close, before init, reused contexts."""

from __future__ import annotations

import warnings
from unittest.mock import ANY

import asyncpg
import pytest

import tripwire

from . import apps
from .harness import Contract, Scenario, Seen, cases, without_object_ids

pytestmark = [pytest.mark.contract, pytest.mark.postgres]

POOL_OPTIONS = {"min_size": 1, "max_size": 2}


class UseAfterRelease(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        pool = await asyncpg.create_pool(dsn, **POOL_OPTIONS)
        conn = await pool.acquire()
        await seen.result("query", conn.fetchval("SELECT 1"))
        await seen.result("release", pool.release(conn))
        await seen.result("query after release", lambda: conn.fetchval("SELECT 1"))
        seen.call("is_closed() after release", conn.is_closed)
        await seen.result("release again", pool.release(conn))
        await pool.close()

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
        apg.assert_create_pool(dsn=dsn, **POOL_OPTIONS)
        apg.assert_acquire()
        apg.assert_fetchval(query="SELECT 1", args=[])
        apg.assert_release()
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 2


class UseAfterPoolClose(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        pool = await asyncpg.create_pool(dsn, **POOL_OPTIONS)
        await pool.close()
        seen.value("closing", pool.is_closing())
        await seen.result("shortcut query", pool.fetchval("SELECT 1"))
        await seen.result("acquire", lambda: pool.acquire())
        await seen.result("close again", pool.close())

    def script(self) -> None:
        tripwire.asyncpg.new_pool().expect("create_pool", returns=None).expect(
            "close", returns=None
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_create_pool(dsn=dsn, **POOL_OPTIONS)
        tripwire.asyncpg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 2


class TerminatedPool(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        pool = await asyncpg.create_pool(dsn, **POOL_OPTIONS)
        seen.call("terminate", pool.terminate)
        seen.value("closing", pool.is_closing())
        await seen.result("shortcut query", pool.execute("SELECT 1"))
        await seen.result("close after terminate", pool.close())

    def script(self) -> None:
        pool = tripwire.asyncpg.new_pool()
        pool.expect("create_pool", returns=None).expect("terminate", returns=None)

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_create_pool(dsn=dsn, **POOL_OPTIONS)
        tripwire.asyncpg.assert_terminate()
        assert len(tripwire.acknowledge_refusals()) == 1


class PoolUsedBeforeItIsReady(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        pool = asyncpg.create_pool(dsn, **POOL_OPTIONS)
        await seen.result("query before await", pool.fetchval("SELECT 1"))
        seen.value("await returns the pool", (await pool) is pool)
        await seen.result("query once ready", pool.fetchval("SELECT 1"))
        await pool.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_pool()
            .expect("create_pool", returns=None)
            .expect("fetchval", returns=1)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_create_pool(dsn=dsn, **POOL_OPTIONS)
        apg.assert_fetchval(query="SELECT 1", args=[])
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 1


class AcquireContextReused(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        async with asyncpg.create_pool(dsn, **POOL_OPTIONS) as pool:
            acquiring = pool.acquire()
            async with acquiring as conn:
                seen.value("is a Connection", isinstance(conn, asyncpg.Connection))

                async def again() -> None:
                    async with acquiring:
                        pass

                await seen.result("enter it again", again())

    def script(self) -> None:
        apg = tripwire.asyncpg
        apg.new_pool().expect("create_pool", returns=None).expect("close", returns=None)
        apg.new_session().expect("acquire", returns=None).expect("release", returns=None)

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_create_pool(dsn=dsn, **POOL_OPTIONS)
        apg.assert_acquire()
        apg.assert_release()
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 1


class StatementKeptAfterRelease(Scenario):
    """A prepared statement cached beyond the connection it came from."""

    async def run(self, dsn: str, seen: Seen) -> None:
        async with asyncpg.create_pool(dsn, **POOL_OPTIONS) as pool:
            async with pool.acquire() as conn:
                statement = await conn.prepare("SELECT 1")
                transaction = conn.transaction()
            await seen.result("statement after release", lambda: statement.fetchval())
            await seen.result("transaction after release", lambda: transaction.start())

    def script(self) -> None:
        apg = tripwire.asyncpg
        apg.new_pool().expect("create_pool", returns=None).expect("close", returns=None)
        (
            apg.new_session()
            .expect("acquire", returns=None)
            .expect("prepare", returns=None)
            .expect("release", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_create_pool(dsn=dsn, **POOL_OPTIONS)
        apg.assert_acquire()
        apg.assert_prepare(query="SELECT 1")
        apg.assert_release()
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 2


class ReleasedWithAnActiveListener(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        async with asyncpg.create_pool(dsn, **POOL_OPTIONS) as pool:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                async with pool.acquire() as conn:
                    await conn.add_listener("orders", apps.Inbox())
            seen.value(
                "warnings", [(w.category, without_object_ids(str(w.message))) for w in caught]
            )

    def script(self) -> None:
        apg = tripwire.asyncpg
        apg.new_pool().expect("create_pool", returns=None).expect("close", returns=None)
        (
            apg.new_session()
            .expect("acquire", returns=None)
            .expect("add_listener", returns=None)
            .expect("release", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_create_pool(dsn=dsn, **POOL_OPTIONS)
        apg.assert_acquire()
        apg.assert_add_listener(channel="orders", callback=ANY)
        apg.assert_release()
        apg.assert_close()


@pytest.mark.parametrize(
    "scenario",
    cases(
        UseAfterRelease,
        UseAfterPoolClose,
        TerminatedPool,
        PoolUsedBeforeItIsReady,
        AcquireContextReused,
        StatementKeptAfterRelease,
        ReleasedWithAnActiveListener,
    ),
)
async def test_same_outcome(scenario: type[Scenario], contract: Contract) -> None:
    await contract.check(scenario)
