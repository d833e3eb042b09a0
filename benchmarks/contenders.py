"""The contenders: each serves ``await conn.fetchval(...)`` its own way.

- :class:`Tripwire`: this project, through the API a test uses
  (``tripwire.asyncpg``, ``async with tripwire:``, ``assert_*``), with a
  fresh verifier made current as its pytest plugin does for each test;
- :class:`PytestTripwire`: pytest-tripwire 0.21, the project this API comes
  from, driven the same way (its module is also called ``tripwire``, so it
  only ever runs in its own virtualenv);
- :class:`AsyncMockFake`: the hand-rolled ``unittest.mock.AsyncMock``
  connection tests use today, which verifies nothing;
- :class:`RealPostgres`: an asyncpg connection to a real server.

Imported by ``worker.py`` only.  Each class imports its library when it is
created, so this module loads in every environment the worker runs in.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

__all__ = [
    "DSN",
    "LIST_QUERY",
    "QUERY",
    "ROWS",
    "AsyncMockFake",
    "PytestTripwire",
    "RealPostgres",
    "Tripwire",
    "make",
]

#: The query of the per-call measurement (one parameter, one value back).
QUERY = "SELECT $1::int"
#: What the mocked connections are opened with (the fakes never use it).
DSN = "postgresql://app@db/app"
#: The query and rows of the lifecycle measurement.
LIST_QUERY = "SELECT id, name FROM users WHERE id = $1"
ROWS = [{"id": 1, "name": "Alice"}]


class AsyncMockFake:
    """A plain ``AsyncMock`` standing in for the connection: no checks at all."""

    name = "asyncmock"

    def __init__(self) -> None:
        from unittest.mock import AsyncMock

        self._factory = AsyncMock

    @contextlib.asynccontextmanager
    async def session(self, calls: int) -> AsyncIterator[Any]:
        conn = self._factory()
        conn.fetchval.return_value = 1
        yield conn


class RealPostgres:
    """An asyncpg connection to the server at *dsn*, opened for each session."""

    name = "postgres"

    def __init__(self, dsn: str) -> None:
        self._asyncpg = importlib.import_module("asyncpg")
        self._dsn = dsn

    @contextlib.asynccontextmanager
    async def session(self, calls: int) -> AsyncIterator[Any]:
        conn = await self._asyncpg.connect(self._dsn)
        try:
            yield conn
        finally:
            await conn.close()


class _Verifying:
    """What tripwire and pytest-tripwire share: the same test-facing API.

    Subclasses provide :meth:`test`, the per-test verifier their pytest
    plugins set up; everything else is written once, as a test writes it.
    """

    name = ""

    def __init__(self) -> None:
        self.tw: Any = importlib.import_module("tripwire")
        self.asyncpg: Any = importlib.import_module("asyncpg")

    def test(self) -> contextlib.AbstractContextManager[None]:
        """One test's worth of verifier: current for the block, verified at its end."""
        raise NotImplementedError

    def script(self, calls: int) -> None:
        """Queue a session of connect, *calls* fetchvals and close."""
        handle = self.tw.asyncpg.new_session().expect("connect", returns=None)
        for i in range(calls):
            handle.expect("fetchval", returns=i)
        handle.expect("close", returns=None)

    def assert_all(self, calls: int) -> None:
        """Assert what :meth:`script` scripted, in order."""
        apg = self.tw.asyncpg
        apg.assert_connect(dsn=DSN)
        for i in range(calls):
            apg.assert_fetchval(query=QUERY, args=[i])
        apg.assert_close()

    @contextlib.asynccontextmanager
    async def session(self, calls: int) -> AsyncIterator[Any]:
        """A connected fake with *calls* fetchvals scripted; asserted and verified after."""
        with self.test():
            self.script(calls)
            async with self.tw:
                conn = await self.asyncpg.connect(dsn=DSN)
                yield conn
                await conn.close()
            self.assert_all(calls)

    async def lifecycle(self) -> Any:
        """A whole small test: script, sandbox, connect + fetch + close, assert, verify."""
        tw, asyncpg = self.tw, self.asyncpg
        with self.test():
            (
                tw.asyncpg.new_session()
                .expect("connect", returns=None)
                .expect("fetch", returns=ROWS)
                .expect("close", returns=None)
            )
            async with tw:
                conn = await asyncpg.connect(host="db", database="app")
                rows = await conn.fetch(LIST_QUERY, 1)
                await conn.close()
            tw.asyncpg.assert_connect(host="db", database="app")
            tw.asyncpg.assert_fetch(query=LIST_QUERY, args=[1])
            tw.asyncpg.assert_close()
        return rows


class Tripwire(_Verifying):
    """This project."""

    name = "tripwire"

    def __init__(self) -> None:
        super().__init__()
        core = importlib.import_module("tripwire_core")
        self._verifier_class = core.StrictVerifier
        self._use_verifier = core.use_verifier

    @contextlib.contextmanager
    def test(self) -> Iterator[None]:
        verifier = self._verifier_class()
        with self._use_verifier(verifier):
            yield
        verifier.verify_all()


class PytestTripwire(_Verifying):
    """pytest-tripwire 0.21, set up as its pytest plugin sets up each test."""

    name = "pytest_tripwire"

    def __init__(self) -> None:
        super().__init__()
        verifier_module = importlib.import_module("tripwire._verifier")
        context = importlib.import_module("tripwire._context")
        self._verifier_class = verifier_module.StrictVerifier
        # Its fixture sets this flag around the constructor; so do we, once.
        self._verifier_class._suppress_direct_warning = True
        self._current = context._current_test_verifier

    @contextlib.contextmanager
    def test(self) -> Iterator[None]:
        verifier = self._verifier_class()
        token = self._current.set(verifier)
        try:
            yield
        finally:
            self._current.reset(token)
        verifier.verify_all()


def make(name: str, dsn: str | None = None) -> Any:
    """The contender called *name* (``postgres`` needs *dsn*)."""
    if name == "postgres":
        if not dsn:
            raise ValueError("the postgres contender needs a DSN")
        return RealPostgres(dsn)
    classes = {c.name: c for c in (Tripwire, PytestTripwire, AsyncMockFake)}
    return classes[name]()
