"""Contract: transactions used the wrong way: manual control, misuse, closed connections."""

from __future__ import annotations

import asyncpg
import pytest

import tripwire

from . import apps
from .harness import Contract, Scenario, Seen, cases

pytestmark = [pytest.mark.contract, pytest.mark.postgres]


class ManualStartAndCommit(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        tx = conn.transaction()
        await seen.result("commit before start", tx.commit())
        await seen.result("start", tx.start())
        await seen.result("start again", tx.start())
        seen.connection("started", conn)
        await conn.execute(apps.ADD_USER, "alice", "a@x.org")
        await seen.result("commit", tx.commit())
        await seen.result("commit again", tx.commit())
        await seen.result("rollback after commit", tx.rollback())
        seen.connection("committed", conn)
        await seen.result("kept", conn.fetchval(apps.COUNT_USERS))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("execute", returns="INSERT 0 1")
            .expect("commit", returns=None)
            .expect("fetchval", returns=1)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_execute(query=apps.ADD_USER, args=["alice", "a@x.org"])
        apg.assert_commit()
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 4


class ManualCommitInsideAsyncWith(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)

        async def confused() -> None:
            async with conn.transaction() as nothing:
                seen.value("async with binds", nothing)
                tx = conn.transaction()
                async with tx:
                    await tx.commit()

        await seen.result("commit inside async with", confused())
        seen.connection("after", conn)
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("savepoint", returns=None)
            .expect("rollback_to_savepoint", returns=None)
            .expect("rollback", returns=None)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_savepoint()
        apg.assert_rollback_to_savepoint()
        apg.assert_rollback()
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 1


class BeginAndCommitThroughExecute(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await seen.result("BEGIN", conn.execute("BEGIN"))
        seen.connection("after BEGIN", conn)
        await seen.result("Transaction inside it", conn.transaction().start())
        await conn.execute(apps.ADD_USER, "alice", "a@x.org")
        await seen.result("ROLLBACK", conn.execute("ROLLBACK"))
        seen.connection("after ROLLBACK", conn)
        await seen.result("nothing kept", conn.fetchval(apps.COUNT_USERS))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("execute", returns="BEGIN")
            .expect("execute", returns="INSERT 0 1")
            .expect("execute", returns="ROLLBACK")
            .expect("fetchval", returns=0)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_execute(query="BEGIN", args=[])
        apg.assert_execute(query=apps.ADD_USER, args=["alice", "a@x.org"])
        apg.assert_execute(query="ROLLBACK", args=[])
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 1


class TransactionOfAClosedConnection(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        tx = conn.transaction()
        await conn.close()
        seen.call("conn.transaction()", conn.transaction)
        seen.call("start() of one made before", tx.start)

    def script(self) -> None:
        tripwire.asyncpg.new_session().expect("connect", returns=None).expect("close", returns=None)

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 2


class ClosingInsideATransaction(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)

        async def close_too_early() -> None:
            async with conn.transaction():
                await conn.execute(apps.ADD_USER, "alice", "a@x.org")
                await conn.close()

        await seen.result("close inside async with", close_too_early())
        seen.connection("after", conn)
        other = await asyncpg.connect(dsn)
        await seen.result("nothing kept", other.fetchval(apps.COUNT_USERS))
        await other.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("execute", returns="INSERT 0 1")
            .expect("close", returns=None)
        )
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("fetchval", returns=0)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_execute(query=apps.ADD_USER, args=["alice", "a@x.org"])
        apg.assert_close()
        apg.assert_connect(dsn=dsn)
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 1


class TransactionOptionsChecked(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        seen.call("unknown isolation", conn.transaction, isolation="snapshot")
        seen.call("isolation by position", conn.transaction, "serializable")

        async def nested(outer: str | None, inner: str) -> None:
            async with conn.transaction(isolation=outer), conn.transaction(isolation=inner):
                pass

        await seen.result("inner differs from outer", nested("serializable", "read_committed"))
        await seen.result("inner differs from the default", nested(None, "serializable"))
        await seen.result("inner matches the default", nested(None, "read_committed"))
        seen.connection("after them", conn)
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("rollback", returns=None)
            .expect("begin", returns=None)
            .expect("fetchval", returns="read committed")
            .expect("rollback", returns=None)
            .expect("begin", returns=None)
            .expect("fetchval", returns="read committed")
            .expect("savepoint", returns=None)
            .expect("release_savepoint", returns=None)
            .expect("commit", returns=None)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin(isolation="serializable")
        apg.assert_rollback()
        apg.assert_begin()
        apg.assert_fetchval(query="SHOW transaction_isolation;", args=[])
        apg.assert_rollback()
        apg.assert_begin()
        apg.assert_fetchval(query="SHOW transaction_isolation;", args=[])
        apg.assert_savepoint()
        apg.assert_release_savepoint()
        apg.assert_commit()
        apg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 2


@pytest.mark.parametrize(
    "scenario",
    cases(
        ManualStartAndCommit,
        ManualCommitInsideAsyncWith,
        BeginAndCommitThroughExecute,
        TransactionOfAClosedConnection,
        ClosingInsideATransaction,
        TransactionOptionsChecked,
    ),
)
async def test_same_outcome(scenario: type[Scenario], contract: Contract) -> None:
    await contract.check(scenario)
