"""The application code the contract scenarios run: ordinary asyncpg code.

Nothing here knows about tripwire.  It is written as a small service would
be: SQL in constants, stores over a connection, a repository over a pool,
money moved in transactions, rows exported through cursors and COPY,
events through LISTEN/NOTIFY.  Entry points take a DSN and connect
themselves, as production code does.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Iterable, Sequence
from decimal import Decimal
from typing import Any

import asyncpg

__all__ = [
    # schemas
    "ACCOUNTS",
    "JOBS",
    "ORDERS",
    "USERS",
    # application code
    "Inbox",
    "InsufficientFundsError",
    "UserRecord",
    "UserRepository",
    "UserStore",
    "Worker",
    "balances",
    "copy_users_in",
    "export_csv",
    "export_names",
    "import_orders",
    "open_store",
    "page_through",
    "to_json",
    "transfer",
    "transfer_with_fresh_reference",
]

# Users

USERS = """
CREATE TABLE users (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE,
    active boolean NOT NULL DEFAULT true
);
"""

INSERT_USER = "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id"
ADD_USER = "INSERT INTO users (name, email) VALUES ($1, $2)"
GET_USER = "SELECT id, name, email FROM users WHERE id = $1"
FIND_BY_EMAIL = "SELECT id, name FROM users WHERE email = $1"
RENAME_USER = "UPDATE users SET name = $2 WHERE id = $1"
DELETE_USER = "DELETE FROM users WHERE id = $1"
DEACTIVATE_ALL = "UPDATE users SET active = false WHERE active"
ALL_USERS = "SELECT id, name, email FROM users ORDER BY id"
USER_NAMES = "SELECT name FROM users ORDER BY id"
COUNT_USERS = "SELECT count(*) FROM users"


class UserRecord(asyncpg.Record):
    """Rows with a method of their own (``record_class=``)."""

    def display(self) -> str:
        return f"{self['name']} <{self['email']}>"


class UserStore:
    """CRUD helpers over one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def close(self) -> None:
        await self.conn.close()

    async def add(self, name: str, email: str) -> int:
        user_id: int = await self.conn.fetchval(INSERT_USER, name, email)
        return user_id

    async def register(self, name: str, email: str) -> int | str:
        """Add a user; a taken email is an answer, not a crash."""
        try:
            return await self.add(name, email)
        except asyncpg.UniqueViolationError as error:
            return f"taken ({error.constraint_name})"

    async def get(self, user_id: int) -> Any:
        return await self.conn.fetchrow(GET_USER, user_id)

    async def find_by_email(self, email: str) -> dict[str, Any] | None:
        row = await self.conn.fetchrow(FIND_BY_EMAIL, email)
        return dict(row) if row is not None else None

    async def rename(self, user_id: int, name: str) -> bool:
        return await self.conn.execute(RENAME_USER, user_id, name) == "UPDATE 1"

    async def delete(self, user_id: int) -> bool:
        return await self.conn.execute(DELETE_USER, user_id) == "DELETE 1"

    async def deactivate_all(self) -> int:
        status = await self.conn.execute(DEACTIVATE_ALL)
        return int(status.rpartition(" ")[2])

    async def add_many(self, users: Iterable[tuple[str, str]]) -> None:
        await self.conn.executemany(ADD_USER, users)

    async def add_many_returning(self, users: Iterable[tuple[str, str]]) -> list[int]:
        rows = await self.conn.fetchmany(INSERT_USER, users)
        return [row["id"] for row in rows]

    async def all(self) -> list[Any]:
        return await self.conn.fetch(ALL_USERS)

    async def all_displayed(self) -> list[str]:
        rows = await self.conn.fetch(ALL_USERS, record_class=UserRecord)
        return [row.display() for row in rows]

    async def names(self) -> list[str]:
        return [row["name"] for row in await self.conn.fetch(USER_NAMES)]

    async def count(self) -> int:
        total: int = await self.conn.fetchval(COUNT_USERS)
        return total


async def open_store(dsn: str, **connect_options: Any) -> UserStore:
    return UserStore(await asyncpg.connect(dsn, **connect_options))


def to_json(value: Any) -> Any:
    """A serializer that dispatches on the driver's types, as API layers do."""
    if isinstance(value, asyncpg.Record):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    return value


# Accounts and transfers

ACCOUNTS = """
CREATE TABLE accounts (
    id int PRIMARY KEY,
    owner text NOT NULL,
    balance numeric(12, 2) NOT NULL CHECK (balance >= 0)
);
CREATE TABLE transfers (
    reference text PRIMARY KEY,
    source int NOT NULL REFERENCES accounts,
    target int NOT NULL REFERENCES accounts,
    amount numeric(12, 2) NOT NULL
);
INSERT INTO accounts VALUES (1, 'alice', 100.00), (2, 'bob', 50.00);
"""

RECORD_TRANSFER = (
    "INSERT INTO transfers (reference, source, target, amount) VALUES ($1, $2, $3, $4)"
)
DEBIT = "UPDATE accounts SET balance = balance - $2 WHERE id = $1"
CREDIT = "UPDATE accounts SET balance = balance + $2 WHERE id = $1"
BALANCES = "SELECT id, balance FROM accounts ORDER BY id"


class InsufficientFundsError(Exception):
    """The domain error for an overdraft."""


async def transfer(
    conn: asyncpg.Connection, reference: str, source: int, target: int, amount: Decimal
) -> None:
    """Move *amount* atomically; an overdraft rolls everything back."""
    try:
        async with conn.transaction():
            await conn.execute(RECORD_TRANSFER, reference, source, target, amount)
            await conn.execute(DEBIT, source, amount)
            await conn.execute(CREDIT, target, amount)
    except asyncpg.CheckViolationError as error:
        raise InsufficientFundsError(f"account {source} cannot pay {amount}") from error


async def transfer_with_fresh_reference(
    dsn: str, reference: str, source: int, target: int, amount: Decimal
) -> str:
    """Transfer once; a reference already used is retried with a suffix."""
    conn = await asyncpg.connect(dsn)
    try:
        for attempt in range(3):
            candidate = reference if attempt == 0 else f"{reference}-{attempt}"
            try:
                await transfer(conn, candidate, source, target, amount)
            except asyncpg.UniqueViolationError:
                continue
            return candidate
        raise RuntimeError(f"no free reference after {reference}")
    finally:
        await conn.close()


async def balances(conn: asyncpg.Connection) -> dict[int, Decimal]:
    return {row["id"]: row["balance"] for row in await conn.fetch(BALANCES)}


# Orders imported one savepoint each

ORDERS = """
CREATE TABLE orders (
    id int PRIMARY KEY,
    item text NOT NULL,
    quantity int NOT NULL CHECK (quantity > 0)
);
"""

INSERT_ORDER = "INSERT INTO orders (id, item, quantity) VALUES ($1, $2, $3)"
ORDER_IDS = "SELECT id FROM orders ORDER BY id"


async def import_orders(
    conn: asyncpg.Connection, orders: Sequence[tuple[int, str, int]]
) -> list[str]:
    """Import all orders in one transaction, skipping (and reporting) invalid ones."""
    skipped = []
    async with conn.transaction():
        for order in orders:
            try:
                async with conn.transaction():
                    await conn.execute(INSERT_ORDER, *order)
            except asyncpg.IntegrityConstraintViolationError as error:
                skipped.append(f"{order[0]}: {type(error).__name__}")
    return skipped


# A job queue: workers claim rows with SKIP LOCKED

JOBS = """
CREATE TABLE jobs (id int PRIMARY KEY, payload text NOT NULL, done boolean NOT NULL DEFAULT false);
INSERT INTO jobs (id, payload) VALUES (1, 'resize'), (2, 'email'), (3, 'report');
"""

CLAIM_JOB = "SELECT id, payload FROM jobs WHERE NOT done ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
FINISH_JOB = "UPDATE jobs SET done = true WHERE id = $1"
LOCK_JOB_NOW = "SELECT payload FROM jobs WHERE id = $1 FOR UPDATE NOWAIT"


class Worker:
    """Claims one job at a time; the row stays locked until the job is finished."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @contextlib.asynccontextmanager
    async def claim(self) -> AsyncIterator[Any]:
        async with self.conn.transaction():
            job = await self.conn.fetchrow(CLAIM_JOB)
            yield job
            if job is not None:
                await self.conn.execute(FINISH_JOB, job["id"])

    async def try_lock(self, job_id: int) -> str:
        try:
            async with self.conn.transaction():
                payload: str = await self.conn.fetchval(LOCK_JOB_NOW, job_id)
                return payload
        except asyncpg.LockNotAvailableError as error:
            return f"busy: {error}"


# Reading many rows


async def export_names(conn: asyncpg.Connection, batch: int) -> list[str]:
    """Stream every user name through a cursor (cursors need a transaction)."""
    names = []
    async with conn.transaction():
        async for row in conn.cursor(USER_NAMES, prefetch=batch):
            names.append(row["name"])
    return names


async def page_through(conn: asyncpg.Connection) -> tuple[list[Any], Any, int]:
    """A scrollable cursor: the first page, skip one, the next row."""
    async with conn.transaction():
        cursor = await conn.cursor(ALL_USERS)
        first_page = await cursor.fetch(2)
        skipped = await cursor.forward(1)
        following = await cursor.fetchrow()
    return first_page, following, skipped


async def export_csv(conn: asyncpg.Connection) -> bytes:
    output = io.BytesIO()
    await conn.copy_from_query(USER_NAMES, output=output, format="csv")
    return output.getvalue()


async def copy_users_in(conn: asyncpg.Connection, users: Sequence[tuple[str, str]]) -> str:
    status: str = await conn.copy_records_to_table(
        "users", records=users, columns=["name", "email"]
    )
    return status


# Events


class Inbox:
    """A LISTEN callback that keeps what arrived, for code that waits on events."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, bool]] = []
        self._arrived = asyncio.Event()

    def __call__(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        # The pid is only compared with the listening connection's own.
        self.received.append((channel, payload, pid == conn.get_server_pid()))
        self._arrived.set()

    async def wait(self, count: int) -> list[tuple[str, str, bool]]:
        while len(self.received) < count:
            self._arrived.clear()
            await asyncio.wait_for(self._arrived.wait(), timeout=2)
        return self.received


# A repository over a pool


class UserRepository:
    """Each method borrows a connection from the pool for as long as it needs one."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, name: str, email: str) -> int:
        async with self._pool.acquire() as conn:
            user_id: int = await conn.fetchval(INSERT_USER, name, email)
            return user_id

    async def count(self) -> int:
        total: int = await self._pool.fetchval(COUNT_USERS)
        return total

    async def rename_all(self, renames: dict[int, str]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            for user_id, name in renames.items():
                await conn.execute(RENAME_USER, user_id, name)

    async def names(self) -> list[str]:
        return [row["name"] for row in await self._pool.fetch(USER_NAMES)]
