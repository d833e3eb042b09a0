"""Fixtures of the contract suite: a real database per test module.

Each test module gets a database of its own on the server of the
``postgres_dsn`` fixture, and each scenario a fresh schema in it (see
``harness.Database``), so scenarios start from a known state and do not
see each other's tables, and modules could run in parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

from tripwire import StrictVerifier

from .harness import Contract, Database

MARKER = "contract: application scenarios run against PostgreSQL and against tripwire"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def _with(dsn: str, database: str | None, **query: str) -> str:
    parts = urlsplit(dsn)
    merged = dict(parse_qsl(parts.query))
    merged.update(query)
    path = parts.path if database is None else f"/{database}"
    return urlunsplit(parts._replace(path=path, query=urlencode(merged)))


def _admin(dsn: str, statement: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    # A loop of its own: the tests' loops are function-scoped.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(run())
    finally:
        loop.close()


@pytest.fixture(scope="module")
def contract_database(postgres_dsn: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    name: str | None = "contract_" + request.module.__name__.rpartition(".")[2].removeprefix(
        "test_"
    )
    try:
        _admin(postgres_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin(postgres_dsn, f'CREATE DATABASE "{name}"')
    except asyncpg.InsufficientPrivilegeError:
        # A TRIPWIRE_TEST_DSN role without CREATEDB: the schemas still keep scenarios apart.
        name = None

    def dsn(**query: str) -> str:
        return _with(postgres_dsn, name, **query)

    yield Database(dsn)
    if name is not None:
        _admin(postgres_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def contract(contract_database: Database, tripwire_verifier: StrictVerifier) -> Contract:
    """Runs scenarios of this test: ``await contract.check(Scenario)``."""
    return Contract(contract_database, tripwire_verifier)
