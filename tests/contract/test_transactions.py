"""Contract: transactions, savepoints, retries and transaction misuse."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import asyncpg
import pytest

import tripwire
from tripwire_drivers.asyncpg import pg_error

from . import apps
from .harness import Contract, Scenario, Seen, cases

pytestmark = [pytest.mark.contract, pytest.mark.postgres]

THIRTY = Decimal("30.00")


def no_quantity(row: str) -> asyncpg.CheckViolationError:
    """The error PostgreSQL raises for an order *row* whose quantity is not positive."""
    return pg_error(
        "23514",
        'new row for relation "orders" violates check constraint "orders_quantity_check"',
        detail=f"Failing row contains {row}.",
        constraint_name="orders_quantity_check",
        table_name="orders",
    )


class TransferCommits(Scenario):
    schema = apps.ACCOUNTS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await seen.result("transfer 30", apps.transfer(conn, "T1", 1, 2, THIRTY))
        seen.connection("after the transfer", conn)
        await seen.result("balances", apps.balances(conn))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("execute", returns="INSERT 0 1")
            .expect("execute", returns="UPDATE 1")
            .expect("execute", returns="UPDATE 1")
            .expect("commit", returns=None)
            .expect(
                "fetch",
                returns=[
                    {"id": 1, "balance": Decimal("70.00")},
                    {"id": 2, "balance": Decimal("80.00")},
                ],
            )
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_execute(query=apps.RECORD_TRANSFER, args=["T1", 1, 2, THIRTY])
        apg.assert_execute(query=apps.DEBIT, args=[1, THIRTY])
        apg.assert_execute(query=apps.CREDIT, args=[2, THIRTY])
        apg.assert_commit()
        apg.assert_fetch(query=apps.BALANCES, args=[])
        apg.assert_close()


class OverdraftRollsBack(Scenario):
    schema = apps.ACCOUNTS
    amount = Decimal("500.00")

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await seen.result("transfer 500", apps.transfer(conn, "T1", 1, 2, self.amount))
        seen.connection("after the failed transfer", conn)
        await seen.result("balances", apps.balances(conn))
        await conn.close()

    def script(self) -> None:
        overdraft = pg_error(
            "23514",
            'new row for relation "accounts" violates check constraint "accounts_balance_check"',
            detail="Failing row contains (1, alice, -400.00).",
            constraint_name="accounts_balance_check",
            table_name="accounts",
        )
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("execute", returns="INSERT 0 1")
            .expect("execute", raises=overdraft)
            .expect("rollback", returns=None)
            .expect(
                "fetch",
                returns=[
                    {"id": 1, "balance": Decimal("100.00")},
                    {"id": 2, "balance": Decimal("50.00")},
                ],
            )
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_execute(query=apps.RECORD_TRANSFER, args=["T1", 1, 2, self.amount])
        apg.assert_execute(query=apps.DEBIT, args=[1, self.amount])
        apg.assert_rollback()
        apg.assert_fetch(query=apps.BALANCES, args=[])
        apg.assert_close()


class TransferRetriesATakenReference(Scenario):
    schema = apps.ACCOUNTS + "INSERT INTO transfers VALUES ('T1', 2, 1, 5.00);"

    async def run(self, dsn: str, seen: Seen) -> None:
        await seen.result(
            "transfer as T1",
            apps.transfer_with_fresh_reference(dsn, "T1", 1, 2, THIRTY),
        )

    def script(self) -> None:
        taken = pg_error(
            "23505",
            'duplicate key value violates unique constraint "transfers_pkey"',
            detail="Key (reference)=(T1) already exists.",
            constraint_name="transfers_pkey",
            table_name="transfers",
        )
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("execute", raises=taken)
            .expect("rollback", returns=None)
            .expect("begin", returns=None)
            .expect("execute", returns="INSERT 0 1")
            .expect("execute", returns="UPDATE 1")
            .expect("execute", returns="UPDATE 1")
            .expect("commit", returns=None)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_execute(query=apps.RECORD_TRANSFER, args=["T1", 1, 2, THIRTY])
        apg.assert_rollback()
        apg.assert_begin()
        apg.assert_execute(query=apps.RECORD_TRANSFER, args=["T1-1", 1, 2, THIRTY])
        apg.assert_execute(query=apps.DEBIT, args=[1, THIRTY])
        apg.assert_execute(query=apps.CREDIT, args=[2, THIRTY])
        apg.assert_commit()
        apg.assert_close()


class SavepointsSkipBadOrders(Scenario):
    schema = apps.ORDERS
    orders: ClassVar = [(1, "pen", 2), (2, "ink", 0), (1, "pen again", 1), (3, "pad", 5)]

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await seen.result("import", apps.import_orders(conn, self.orders))
        await seen.result("imported ids", conn.fetch(apps.ORDER_IDS))
        await conn.close()

    def script(self) -> None:
        twice = pg_error(
            "23505",
            'duplicate key value violates unique constraint "orders_pkey"',
            detail="Key (id)=(1) already exists.",
            constraint_name="orders_pkey",
            table_name="orders",
        )
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("savepoint", returns=None)
            .expect("execute", returns="INSERT 0 1")
            .expect("release_savepoint", returns=None)
            .expect("savepoint", returns=None)
            .expect("execute", raises=no_quantity("(2, ink, 0)"))
            .expect("rollback_to_savepoint", returns=None)
            .expect("savepoint", returns=None)
            .expect("execute", raises=twice)
            .expect("rollback_to_savepoint", returns=None)
            .expect("savepoint", returns=None)
            .expect("execute", returns="INSERT 0 1")
            .expect("release_savepoint", returns=None)
            .expect("commit", returns=None)
            .expect("fetch", returns=[{"id": 1}, {"id": 3}])
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        for order, kept in zip(self.orders, (True, False, False, True), strict=True):
            apg.assert_savepoint()
            apg.assert_execute(query=apps.INSERT_ORDER, args=list(order))
            if kept:
                apg.assert_release_savepoint()
            else:
                apg.assert_rollback_to_savepoint()
        apg.assert_commit()
        apg.assert_fetch(query=apps.ORDER_IDS, args=[])
        apg.assert_close()


class InnerFailureRollsBackEverything(Scenario):
    schema = apps.ORDERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)

        async def nested() -> None:
            async with conn.transaction():
                await conn.execute(apps.INSERT_ORDER, 1, "pen", 1)
                async with conn.transaction():
                    seen.connection("in the savepoint", conn)
                    await conn.execute(apps.INSERT_ORDER, 2, "ink", 0)

        await seen.result("nested blocks", nested())
        seen.connection("after both blocks", conn)
        await seen.result("nothing kept", conn.fetch(apps.ORDER_IDS))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("execute", returns="INSERT 0 1")
            .expect("savepoint", returns=None)
            .expect("execute", raises=no_quantity("(2, ink, 0)"))
            .expect("rollback_to_savepoint", returns=None)
            .expect("rollback", returns=None)
            .expect("fetch", returns=[])
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_execute(query=apps.INSERT_ORDER, args=[1, "pen", 1])
        apg.assert_savepoint()
        apg.assert_execute(query=apps.INSERT_ORDER, args=[2, "ink", 0])
        apg.assert_rollback_to_savepoint()
        apg.assert_rollback()
        apg.assert_fetch(query=apps.ORDER_IDS, args=[])
        apg.assert_close()


class SwallowedErrorThenCommit(Scenario):
    """A classic bug: the error is caught inside the block, so the block 'commits'."""

    schema = apps.USERS + "INSERT INTO users (name, email) VALUES ('alice', 'alice@example.com');"

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        async with conn.transaction():
            await seen.result("a duplicate", conn.execute(apps.ADD_USER, "al", "alice@example.com"))
            seen.connection("in the failed transaction", conn)
            await seen.result("the next query", conn.execute(apps.ADD_USER, "bob", "b@x.org"))
        seen.connection("after the block", conn)
        await seen.result("what was kept", conn.fetchval(apps.COUNT_USERS))
        await conn.close()

    def script(self) -> None:
        duplicate = pg_error(
            "23505",
            'duplicate key value violates unique constraint "users_email_key"',
            detail="Key (email)=(alice@example.com) already exists.",
            constraint_name="users_email_key",
            table_name="users",
        )
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("execute", raises=duplicate)
            .expect("commit", returns=None)
            .expect("fetchval", returns=1)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_execute(query=apps.ADD_USER, args=["al", "alice@example.com"])
        # The server answered COMMIT with ROLLBACK.
        apg.assert_commit(rolled_back=True)
        apg.assert_fetchval(query=apps.COUNT_USERS, args=[])
        apg.assert_close()
        # The query in the failed transaction never reached the script.
        assert len(tripwire.acknowledge_refusals()) == 1


class ReadOnlyTransactionRefusesWrites(Scenario):
    schema = apps.USERS

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)

        async def report() -> int:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                await conn.execute(apps.ADD_USER, "mallory", "m@x.org")
                total: int = await conn.fetchval(apps.COUNT_USERS)
                return total

        await seen.result("write in a read-only report", report())
        seen.connection("after it", conn)
        await conn.close()

    def script(self) -> None:
        read_only = pg_error("25006", "cannot execute INSERT in a read-only transaction")
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("execute", raises=read_only)
            .expect("rollback", returns=None)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin(isolation="repeatable_read", readonly=True)
        apg.assert_execute(query=apps.ADD_USER, args=["mallory", "m@x.org"])
        apg.assert_rollback()
        apg.assert_close()


class DeferredConstraintFailsAtCommit(Scenario):
    """A deferred foreign key is checked at COMMIT, so COMMIT itself raises."""

    schema = """
    CREATE TABLE parents (id int PRIMARY KEY);
    CREATE TABLE children (
        id int PRIMARY KEY,
        parent int REFERENCES parents DEFERRABLE INITIALLY DEFERRED
    );
    """
    add_child = "INSERT INTO children (id, parent) VALUES ($1, $2)"

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)

        async def orphan() -> None:
            async with conn.transaction():
                await conn.execute(self.add_child, 1, 9)
                seen.value("accepted until COMMIT", True)

        await seen.result("commit", orphan())
        seen.connection("after the failed commit", conn)
        await seen.result("nothing kept", conn.fetchval("SELECT count(*) FROM children"))
        await conn.close()

    def script(self) -> None:
        orphaned = pg_error(
            "23503",
            'insert or update on table "children" violates foreign key constraint '
            '"children_parent_fkey"',
            detail='Key (parent)=(9) is not present in table "parents".',
            constraint_name="children_parent_fkey",
            table_name="children",
        )
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("begin", returns=None)
            .expect("execute", returns="INSERT 0 1")
            .expect("commit", raises=orphaned)
            .expect("fetchval", returns=0)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_begin()
        apg.assert_execute(query=self.add_child, args=[1, 9])
        apg.assert_commit()
        apg.assert_fetchval(query="SELECT count(*) FROM children", args=[])
        apg.assert_close()


@pytest.mark.parametrize(
    "scenario",
    cases(
        TransferCommits,
        OverdraftRollsBack,
        TransferRetriesATakenReference,
        SavepointsSkipBadOrders,
        InnerFailureRollsBackEverything,
        SwallowedErrorThenCommit,
        ReadOnlyTransactionRefusesWrites,
        DeferredConstraintFailsAtCommit,
    ),
)
async def test_same_outcome(scenario: type[Scenario], contract: Contract) -> None:
    await contract.check(scenario)
