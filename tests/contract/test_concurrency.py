"""Contract: several clients at once: locks, SKIP LOCKED workers, serialization retries."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest

import tripwire
from tripwire_drivers.asyncpg import pg_error

from . import apps
from .harness import Contract, Scenario, Seen, cases

pytestmark = [pytest.mark.contract, pytest.mark.postgres]

RESIZE = {"id": 1, "payload": "resize"}
EMAIL = {"id": 2, "payload": "email"}
REPORT = {"id": 3, "payload": "report"}


class WorkersSkipLockedJobs(Scenario):
    schema = apps.JOBS

    async def run(self, dsn: str, seen: Seen) -> None:
        first = apps.Worker(await asyncpg.connect(dsn))
        second = apps.Worker(await asyncpg.connect(dsn))
        async with first.claim() as job:
            seen.value("first worker holds", job)
            async with second.claim() as other:
                seen.value("second worker skips it", other)
        async with first.claim() as job:
            seen.value("then the first takes", job)
        async with second.claim() as job:
            seen.value("nothing left", job)
        await first.conn.close()
        await second.conn.close()

    def script(self) -> None:
        apg = tripwire.asyncpg
        first = apg.new_session().expect("connect", returns=None)
        second = apg.new_session().expect("connect", returns=None)
        first.expect("begin", returns=None).expect("fetchrow", returns=RESIZE)
        (
            second.expect("begin", returns=None)
            .expect("fetchrow", returns=EMAIL)
            .expect("execute", returns="UPDATE 1")
            .expect("commit", returns=None)
        )
        first.expect("execute", returns="UPDATE 1").expect("commit", returns=None)
        (
            first.expect("begin", returns=None)
            .expect("fetchrow", returns=REPORT)
            .expect("execute", returns="UPDATE 1")
            .expect("commit", returns=None)
        )
        second.expect("begin", returns=None).expect("fetchrow", returns=None)
        second.expect("commit", returns=None)
        first.expect("close", returns=None)
        second.expect("close", returns=None)

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()  # first worker: job 1
        apg.assert_fetchrow(query=apps.CLAIM_JOB, args=[])
        apg.assert_begin()  # second worker: job 2, finished at once
        apg.assert_fetchrow(query=apps.CLAIM_JOB, args=[])
        apg.assert_execute(query=apps.FINISH_JOB, args=[2])
        apg.assert_commit()
        apg.assert_execute(query=apps.FINISH_JOB, args=[1])
        apg.assert_commit()
        apg.assert_begin()  # first worker: job 3
        apg.assert_fetchrow(query=apps.CLAIM_JOB, args=[])
        apg.assert_execute(query=apps.FINISH_JOB, args=[3])
        apg.assert_commit()
        apg.assert_begin()  # second worker: nothing left
        apg.assert_fetchrow(query=apps.CLAIM_JOB, args=[])
        apg.assert_commit()
        apg.assert_close()
        apg.assert_close()


class LockedRowWithNowait(Scenario):
    schema = apps.JOBS

    async def run(self, dsn: str, seen: Seen) -> None:
        holder = apps.Worker(await asyncpg.connect(dsn))
        other = apps.Worker(await asyncpg.connect(dsn))
        async with holder.claim() as job:
            seen.value("claimed", job)
            await seen.result("lock it again elsewhere", other.try_lock(1))
            seen.connection("the other connection", other.conn)
        await seen.result("once it is released", other.try_lock(1))
        await holder.conn.close()
        await other.conn.close()

    def script(self) -> None:
        busy = pg_error("55P03", 'could not obtain lock on row in relation "jobs"')
        apg = tripwire.asyncpg
        holder = apg.new_session().expect("connect", returns=None)
        other = apg.new_session().expect("connect", returns=None)
        holder.expect("begin", returns=None).expect("fetchrow", returns=RESIZE)
        other.expect("begin", returns=None).expect("fetchval", raises=busy)
        other.expect("rollback", returns=None)
        holder.expect("execute", returns="UPDATE 1").expect("commit", returns=None)
        other.expect("begin", returns=None).expect("fetchval", returns="resize")
        other.expect("commit", returns=None)
        holder.expect("close", returns=None)
        other.expect("close", returns=None)

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_fetchrow(query=apps.CLAIM_JOB, args=[])
        apg.assert_begin()
        apg.assert_fetchval(query=apps.LOCK_JOB_NOW, args=[1])
        apg.assert_rollback()
        apg.assert_execute(query=apps.FINISH_JOB, args=[1])
        apg.assert_commit()
        apg.assert_begin()
        apg.assert_fetchval(query=apps.LOCK_JOB_NOW, args=[1])
        apg.assert_commit()
        apg.assert_close()
        apg.assert_close()


class SerializationFailureIsRetried(Scenario):
    """Two writers on one row under SERIALIZABLE: the loser retries and wins."""

    schema = apps.ACCOUNTS
    bump = "UPDATE accounts SET balance = $2 WHERE id = $1"
    read = "SELECT balance FROM accounts WHERE id = $1"

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        rival = await asyncpg.connect(dsn)

        async def deposit(amount: Decimal) -> int:
            for attempt in range(1, 4):
                try:
                    async with conn.transaction(isolation="serializable"):
                        balance = await conn.fetchval(self.read, 1)
                        if attempt == 1:
                            # Another client commits a change to the same row meanwhile.
                            await rival.execute(self.bump, 1, Decimal("0.00"))
                        await conn.execute(self.bump, 1, balance + amount)
                    return attempt
                except asyncpg.SerializationError as error:
                    seen.value(f"attempt {attempt} failed", error)
            raise RuntimeError("gave up")

        await seen.result("deposit 5", deposit(Decimal("5.00")))
        await seen.result("final balance", conn.fetchval(self.read, 1))
        await rival.close()
        await conn.close()

    def script(self) -> None:
        conflict = pg_error("40001", "could not serialize access due to concurrent update")
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("fetchval", returns=Decimal("100.00"))
            .expect("execute", raises=conflict)
            .expect("rollback", returns=None)
            .expect("begin", returns=None)
            .expect("fetchval", returns=Decimal("0.00"))
            .expect("execute", returns="UPDATE 1")
            .expect("commit", returns=None)
            .expect("fetchval", returns=Decimal("5.00"))
            .expect("close", returns=None)
        )
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("execute", returns="UPDATE 1")
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_connect(dsn=dsn)
        apg.assert_begin(isolation="serializable")
        apg.assert_fetchval(query=self.read, args=[1])
        apg.assert_execute(query=self.bump, args=[1, Decimal("0.00")])
        apg.assert_execute(query=self.bump, args=[1, Decimal("105.00")])
        apg.assert_rollback()
        apg.assert_begin(isolation="serializable")
        apg.assert_fetchval(query=self.read, args=[1])
        apg.assert_execute(query=self.bump, args=[1, Decimal("5.00")])
        apg.assert_commit()
        apg.assert_fetchval(query=self.read, args=[1])
        apg.assert_close()
        apg.assert_close()


@pytest.mark.parametrize(
    "scenario", cases(WorkersSkipLockedJobs, LockedRowWithNowait, SerializationFailureIsRetried)
)
async def test_same_outcome(scenario: type[Scenario], contract: Contract) -> None:
    await contract.check(scenario)
