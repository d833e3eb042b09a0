"""A generated test suite of a small CRUD module, run by pytest two ways.

The same scenarios become the same tests twice: once scripted with
tripwire (each test scripts its session, runs the code in ``async with
tripwire:`` and asserts every interaction), once against a real PostgreSQL
(one server for the run, a fresh schema per test made by a fixture, as
suites usually do).  Both run the same ``crud.py`` and check the same
outcomes.  A third suite of as many empty async tests measures the floor:
what pytest and pytest-asyncio cost by themselves.  The suites are written
to a temporary directory; nothing is kept.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

__all__ = ["SCENARIOS", "VARIANTS", "run_suite", "write_suite"]

CRUD = '''\
"""The code under test: users in a PostgreSQL table, through asyncpg."""

import asyncpg

TABLE = (
    "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE)"
)
INSERT = "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id"
SELECT_ONE = "SELECT id, name, email FROM users WHERE id = $1"
SELECT_ALL = "SELECT id, name, email FROM users ORDER BY id"
RENAME = "UPDATE users SET name = $2 WHERE id = $1"
DELETE = "DELETE FROM users WHERE id = $1"


async def create_user(conn, name, email):
    """The new user's id, or None if the email is taken."""
    try:
        return await conn.fetchval(INSERT, name, email)
    except asyncpg.UniqueViolationError:
        return None


async def get_user(conn, user_id):
    row = await conn.fetchrow(SELECT_ONE, user_id)
    return None if row is None else dict(row)


async def list_users(conn):
    return [dict(row) for row in await conn.fetch(SELECT_ALL)]


async def rename_user(conn, user_id, name):
    return await conn.execute(RENAME, user_id, name) == "UPDATE 1"


async def delete_user(conn, user_id):
    return await conn.execute(DELETE, user_id) == "DELETE 1"
'''

INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"

POSTGRES_CONFTEST = '''\
"""A fresh schema per test on the run's server, as suites usually do."""

import itertools
import os

import asyncpg
import pytest

import crud

_numbers = itertools.count()


@pytest.fixture
async def conn():
    schema = f"test_{next(_numbers)}"
    connection = await asyncpg.connect(os.environ["BENCH_POSTGRES_DSN"])
    await connection.execute(f"CREATE SCHEMA {schema}")
    await connection.execute(f"SET search_path TO {schema}")
    await connection.execute(crud.TABLE)
    yield connection
    await connection.execute(f"DROP SCHEMA {schema} CASCADE")
    await connection.close()
'''

HEADERS = {
    "floor": '"""Generated: the same number of tests, doing nothing."""\n',
    "tripwire": '"""Generated: crud.py tested with tripwire scripts."""\n\n'
    "import asyncpg\n\nimport crud\nimport tripwire\n\n"
    'DSN = "postgresql://app@localhost/app"\n',
    "postgres": '"""Generated: crud.py tested against PostgreSQL."""\n\nimport crud\n',
}


@dataclass(frozen=True)
class Call:
    """One database call a scenario makes (fields are ``string.Template`` text)."""

    code: str  # the test's line that makes the call
    step: str  # the asyncpg method crud.py uses for it
    query: str  # the crud.py constant holding the query
    args: str  # the arguments sent, as Python source
    outcome: str  # what the database answers, as expect() keywords


@dataclass(frozen=True)
class Scenario:
    name: str
    calls: tuple[Call, ...]
    checks: tuple[str, ...]


_CREATE = Call(
    "user_id = await crud.create_user(conn, '$name', '$email')",
    "fetchval",
    "INSERT",
    "['$name', '$email']",
    "returns=1",
)
_GET = Call(
    "user = await crud.get_user(conn, user_id)",
    "fetchrow",
    "SELECT_ONE",
    "[1]",
    "returns={'id': 1, 'name': '$name', 'email': '$email'}",
)

SCENARIOS = (
    Scenario("create_then_get", (_CREATE, _GET), ("assert user['email'] == '$email'",)),
    Scenario(
        "create_two_then_list",
        (
            _CREATE,
            Call(
                "other_id = await crud.create_user(conn, '$other', '$other_email')",
                "fetchval",
                "INSERT",
                "['$other', '$other_email']",
                "returns=2",
            ),
            Call(
                "users = await crud.list_users(conn)",
                "fetch",
                "SELECT_ALL",
                "[]",
                "returns=[{'id': 1, 'name': '$name', 'email': '$email'}, "
                "{'id': 2, 'name': '$other', 'email': '$other_email'}]",
            ),
        ),
        ("assert [user['name'] for user in users] == ['$name', '$other']",),
    ),
    Scenario(
        "rename",
        (
            _CREATE,
            Call(
                "renamed = await crud.rename_user(conn, user_id, '$other')",
                "execute",
                "RENAME",
                "[1, '$other']",
                "returns='UPDATE 1'",
            ),
            Call(
                "user = await crud.get_user(conn, user_id)",
                "fetchrow",
                "SELECT_ONE",
                "[1]",
                "returns={'id': 1, 'name': '$other', 'email': '$email'}",
            ),
        ),
        ("assert renamed", "assert user['name'] == '$other'"),
    ),
    Scenario(
        "delete",
        (
            _CREATE,
            Call(
                "deleted = await crud.delete_user(conn, user_id)",
                "execute",
                "DELETE",
                "[1]",
                "returns='DELETE 1'",
            ),
            Call(
                "user = await crud.get_user(conn, user_id)",
                "fetchrow",
                "SELECT_ONE",
                "[1]",
                "returns=None",
            ),
        ),
        ("assert deleted", "assert user is None"),
    ),
    Scenario(
        "email_taken",
        (
            _CREATE,
            Call(
                "second_id = await crud.create_user(conn, '$other', '$email')",
                "fetchval",
                "INSERT",
                "['$other', '$email']",
                "raises=asyncpg.UniqueViolationError('duplicate key value')",
            ),
        ),
        ("assert second_id is None",),
    ),
)


def _postgres_test(scenario: Scenario, number: int) -> list[str]:
    lines = [f"async def test_{scenario.name}_{number}(conn):"]
    lines += [f"    {call.code}" for call in scenario.calls]
    lines += [f"    {check}" for check in scenario.checks]
    return lines


def _tripwire_test(scenario: Scenario, number: int) -> list[str]:
    lines = [
        f"async def test_{scenario.name}_{number}():",
        "    (tripwire.asyncpg.new_session()",
        '        .expect("connect", returns=None)',
    ]
    lines += [f'        .expect("{call.step}", {call.outcome})' for call in scenario.calls]
    lines += ['        .expect("close", returns=None))', "    async with tripwire:"]
    lines += ["        conn = await asyncpg.connect(DSN)"]
    lines += [f"        {call.code}" for call in scenario.calls]
    lines += ["        await conn.close()"]
    lines += [f"    {check}" for check in scenario.checks]
    lines += ["    tripwire.asyncpg.assert_connect(dsn=DSN)"]
    lines += [
        f"    tripwire.asyncpg.assert_{call.step}(query=crud.{call.query}, args={call.args})"
        for call in scenario.calls
    ]
    lines += ["    tripwire.asyncpg.assert_close()"]
    return lines


def _floor_test(scenario: Scenario, number: int) -> list[str]:
    return [f"async def test_{scenario.name}_{number}():", "    pass"]


#: The suites: what tripwire and PostgreSQL cost, and pytest's own share.
VARIANTS = {"tripwire": _tripwire_test, "postgres": _postgres_test, "floor": _floor_test}


def write_suite(directory: Path, variant: str, tests: int, per_file: int = 50) -> None:
    """Write *tests* tests of *variant* (a key of :data:`VARIANTS`) into *directory*."""
    make = VARIANTS[variant]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "crud.py").write_text(CRUD)
    (directory / "pytest.ini").write_text(INI)
    if variant == "postgres":
        (directory / "conftest.py").write_text(POSTGRES_CONFTEST)
    for first in range(0, tests, per_file):
        body = [HEADERS[variant]]
        for number in range(first, min(first + per_file, tests)):
            values = {
                "name": f"user{number}",
                "email": f"user{number}@example.com",
                "other": f"other{number}",
                "other_email": f"other{number}@example.com",
            }
            text = "\n".join(make(SCENARIOS[number % len(SCENARIOS)], number))
            body.append("\n" + Template(text).substitute(values) + "\n")
        (directory / f"test_crud_{first // per_file:02d}.py").write_text("\n".join(body))


def run_suite(directory: Path, variant: str, tests: int, dsn: str | None = None) -> float:
    """Run the suite in *directory* with pytest in a subprocess; its wall time in seconds.

    Raises if any test did not pass.  The other variants run without the
    tripwire plugin, as a project that does not use tripwire would.  Byte
    code is cached (even if ``PYTHONDONTWRITEBYTECODE`` is set here), as on
    a developer's machine from the second run on.
    """
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if variant != "tripwire":
        command += ["-p", "no:tripwire"]
    if variant == "postgres":
        env["BENCH_POSTGRES_DSN"] = dsn or ""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or f"{tests} passed" not in done.stdout:
        raise RuntimeError(
            f"the {variant} suite did not pass ({done.returncode}):\n{done.stdout[-3000:]}"
            f"{done.stderr[-2000:]}"
        )
    return elapsed
