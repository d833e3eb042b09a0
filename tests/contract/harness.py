"""The contract harness: one scenario, run against PostgreSQL and against tripwire.

A :class:`Scenario` is what a user of tripwire writes for one piece of
application code (the functions in ``apps.py``, which call
``asyncpg.connect(dsn)`` or ``asyncpg.create_pool(dsn)`` themselves):

- ``schema``: the SQL that sets up the real database for it; it runs in a
  schema of the scenario's own, reached through ``search_path``;
- ``run(dsn, seen)``: drives the application code and hands every outcome
  it wants compared to ``seen`` (values, errors, connection flags);
- ``script()``: the tripwire script for that code, written with
  ``tripwire.asyncpg`` as in any test;
- ``verify(dsn)``: the assertions of that test.  After them the harness runs
  ``verify_all()``: the fake run must pass tripwire's own verification too.

:func:`check` runs ``run`` against the real server, then inside
``with tripwire:`` after ``script()``, and requires the two lists of
outcomes to be equal.

What an outcome keeps, and what it lets differ:

- A value keeps its type: ``1``, ``True`` and ``1.0`` are three outcomes,
  and so are ``Decimal("1")`` and ``1``.  Containers are compared item by
  item.
- A row (``asyncpg.Record`` from the server, tripwire's look-alike
  ``tripwire_drivers.asyncpg.Record`` from the fake) becomes a :class:`Row`:
  its column names in order, each value with its type, and the class name
  the row shows in its repr (``Record``, or a ``record_class=`` subclass).
  Application code reads rows by position, name, ``get``, ``items`` or
  ``dict(row)``; tests/test_asyncpg_fidelity.py proves that each of those
  behaves the same on the look-alike, so a row is compared by what such
  code reads, whichever of the two classes carries it.  What the look-alike
  cannot do, pass ``isinstance(row, asyncpg.Record)``, is not normalised
  away: code that depends on it is a scenario of its own
  (``SerializerDispatchesOnRecord`` and ``SerializerGivenDictRows`` in
  test_queries.py), whose outcome shows which branch the code took.
- An exception is its class as production code catches it (the first class
  of its MRO outside tripwire, so a refusal blended with
  ``asyncpg.InterfaceError`` counts as ``InterfaceError``) and ``str()`` of
  it; hexadecimal object ids in the message are replaced by ``0x…``.
  Whether tripwire raised it shows in the report but is not compared.
- asyncpg decodes ``uuid`` columns to its own subclass of ``uuid.UUID``
  (``asyncpg.pgproto.pgproto.UUID``, an implementation detail a test cannot
  be expected to script); it counts as ``uuid.UUID``.  No other type is
  substituted.
- Server pids and timings are not compared: no scenario records them
  directly (a listener records whether a notification came from its own
  connection, not the pid).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import asyncpg
import asyncpg.pgproto.pgproto
import pytest

import tripwire
from tripwire import StrictVerifier
from tripwire_drivers.asyncpg import Record as FakeRecord

__all__ = [
    "FAKE_DSN",
    "Contract",
    "Database",
    "Raised",
    "Row",
    "Scenario",
    "Seen",
    "cases",
    "check",
    "observe",
]

#: The DSN the application gets in the fake run: no such host exists, so
#: nothing but the fake could answer it.
FAKE_DSN = "postgresql://app:secret@db.invalid:5432/app"

_OBJECT_ID = re.compile(r"0x[0-9a-fA-F]+")


def without_object_ids(text: str) -> str:
    """*text* with hexadecimal object ids (which differ run to run) replaced by ``0x…``."""
    return _OBJECT_ID.sub("0x…", text)


# The class a row shows in its repr, as asyncpg prints it: <Record ...>, <UserRecord ...>.
_ROW_CLASS = re.compile(r"<(\w+)")
_PGPROTO_UUID = asyncpg.pgproto.pgproto.UUID


# Outcomes


@dataclass(frozen=True)
class Exact:
    """A plain value, equal only to an equal value of the same type."""

    value: Any

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Exact):
            return NotImplemented
        return _public_type(self.value) is _public_type(other.value) and bool(
            self.value == other.value
        )

    def __hash__(self) -> int:
        return hash((_public_type(self.value), self.value))

    def __repr__(self) -> str:
        value = self.value
        if isinstance(value, type):
            return f"{value.__module__}.{value.__qualname__}"
        text = repr(value)
        # repr() tells most types apart; name the type where it does not.
        return f"{type(value).__name__}:{text}" if text.startswith("<") else text


@dataclass(frozen=True)
class Row:
    """A record as application code reads it: typed items, and its class name."""

    items: tuple[tuple[str, Any], ...]
    kind: str

    def __repr__(self) -> str:
        inside = ", ".join(f"{name}={value!r}" for name, value in self.items)
        return f"{self.kind}({inside})"


@dataclass(frozen=True)
class Raised:
    """An exception as production code sees it: its catchable class and its message."""

    type: type[BaseException]
    message: str
    by_tripwire: str | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        refusal = f"  [refused by tripwire: {self.by_tripwire}]" if self.by_tripwire else ""
        return f"raises {self.type.__module__}.{self.type.__qualname__}({self.message!r}){refusal}"


def _public_type(value: Any) -> type:
    kind = type(value)
    return uuid.UUID if kind is _PGPROTO_UUID else kind


def catchable_class(error: BaseException) -> type[BaseException]:
    """The class production code would catch: the first one not defined by tripwire."""
    return next(c for c in type(error).__mro__ if not c.__module__.startswith("tripwire"))


def raised(error: BaseException) -> Raised:
    tripwire_class = next(
        (c.__name__ for c in type(error).__mro__ if c.__module__.startswith("tripwire")), None
    )
    return Raised(catchable_class(error), _OBJECT_ID.sub("0x…", str(error)), tripwire_class)


def observe(value: Any) -> Any:
    """*value* in the comparable form described in the module docstring."""
    if isinstance(value, BaseException):
        return raised(value)
    if isinstance(value, (asyncpg.Record, FakeRecord)):
        items = tuple((name, observe(item)) for name, item in value.items())
        return Row(items, _ROW_CLASS.match(repr(value)).group(1))  # type: ignore[union-attr]
    if isinstance(value, list):
        return [observe(item) for item in value]
    if type(value) is tuple:
        return tuple(observe(item) for item in value)
    if isinstance(value, Mapping):
        return {key: observe(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return frozenset(observe(item) for item in value)
    return Exact(value)


class Seen:
    """What a scenario run observed, in order: ``label -> outcome``."""

    def __init__(self) -> None:
        self.outcomes: list[tuple[str, Any]] = []

    def value(self, label: str, value: Any) -> Any:
        """Record *value*; returns it, so the scenario can go on using it."""
        self.outcomes.append((label, observe(value)))
        return value

    async def result(
        self, label: str, awaitable: Awaitable[Any] | Callable[[], Awaitable[Any]]
    ) -> Any:
        """Record what *awaitable* returns or raises; the value, or None if it raised.

        Pass a function returning the awaitable (``lambda: stmt.fetch()``) for
        methods that may raise when called, before there is anything to await.
        """
        try:
            value = await (awaitable() if callable(awaitable) else awaitable)
        except Exception as error:
            self.outcomes.append((label, raised(error)))
            return None
        return self.value(label, value)

    def call(self, label: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Record what a synchronous call returns or raises."""
        try:
            value = function(*args, **kwargs)
        except Exception as error:
            self.outcomes.append((label, raised(error)))
            return None
        return self.value(label, value)

    def connection(self, label: str, conn: Any) -> None:
        """Record the flags of *conn*: ``is_closed()`` and ``is_in_transaction()``."""
        self.call(f"{label}: is_closed()", conn.is_closed)
        self.call(f"{label}: is_in_transaction()", conn.is_in_transaction)


# Scenarios


class Scenario:
    """Application code with its schema, its tripwire script and its assertions."""

    #: SQL run, in the scenario's own schema, before the real run.
    schema: ClassVar[str] = ""
    #: Set while the fake is known to differ: the scenario is xfail(strict=True).
    fake_differs: ClassVar[str | None] = None

    async def run(self, dsn: str, seen: Seen) -> None:
        raise NotImplementedError

    def script(self) -> None:
        raise NotImplementedError

    def verify(self, dsn: str) -> None:
        raise NotImplementedError


def scenario_id(scenario: type[Scenario]) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", scenario.__name__).lower()


def cases(*scenarios: type[Scenario]) -> list[Any]:
    """The scenarios as pytest parameters: readable ids, xfail where the fake differs."""
    params = []
    for scenario in scenarios:
        marks = []
        if scenario.fake_differs is not None:
            marks.append(
                pytest.mark.xfail(strict=True, reason=f"fake differs: {scenario.fake_differs}")
            )
        params.append(pytest.param(scenario, id=scenario_id(scenario), marks=marks))
    return params


# Running both sides


@dataclass
class Database:
    """The real database of one test module; each scenario gets a schema in it."""

    dsn: Callable[..., str]  # dsn(**query) -> the module database's DSN with that query

    async def fresh_schema(self, name: str, sql: str) -> str:
        """Create schema *name* from scratch, run *sql* in it; the DSN that reaches it."""
        admin = await asyncpg.connect(self.dsn())
        try:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE; CREATE SCHEMA "{name}"')
        finally:
            await admin.close()
        dsn = self.dsn(search_path=name)
        if sql:
            setup = await asyncpg.connect(dsn)
            try:
                await setup.execute(sql)
            finally:
                await setup.close()
        return dsn

    async def drop_schema(self, name: str) -> None:
        admin = await asyncpg.connect(self.dsn(), server_settings={"lock_timeout": "5s"})
        try:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        finally:
            await admin.close()


class Contract:
    """What a contract test calls: ``await contract.check(Scenario)``."""

    def __init__(self, database: Database, verifier: StrictVerifier) -> None:
        self._database = database
        self._verifier = verifier

    async def check(self, scenario: type[Scenario]) -> None:
        """Run *scenario* on both sides; fail unless outcomes match and tripwire verifies."""
        __tracebackhide__ = True
        await check(scenario, self._database, self._verifier)


async def check(
    scenario_class: type[Scenario], database: Database, verifier: StrictVerifier
) -> None:
    """Run *scenario_class* on both sides; fail unless outcomes match and tripwire verifies."""
    __tracebackhide__ = True
    schema = "s_" + scenario_id(scenario_class)[:40]
    dsn = await database.fresh_schema(schema, scenario_class.schema)
    real = Seen()
    try:
        await scenario_class().run(dsn, real)
    finally:
        await database.drop_schema(schema)
    if not real.outcomes:
        # Two empty lists are equal: such a scenario would compare nothing.
        pytest.fail(f"{scenario_id(scenario_class)} hands nothing to seen", pytrace=False)

    scenario = scenario_class()
    scenario.script()
    fake = Seen()
    async with tripwire:
        try:
            await scenario.run(FAKE_DSN, fake)
        except Exception as error:
            # The real run got past this point: show where the fake stopped, and why.
            fake.outcomes.append(("the scenario stopped", raised(error)))
            while error.__context__ is not None and error.__context__ is not error:
                error = error.__context__  # type: ignore[assignment]
                fake.outcomes.append(("  while handling", raised(error)))
    if fake.outcomes != real.outcomes:
        pytest.fail(_differences(scenario_class, real.outcomes, fake.outcomes), pytrace=False)
    scenario.verify(FAKE_DSN)
    verifier.verify_all()


def _differences(
    scenario: type[Scenario], real: list[tuple[str, Any]], fake: list[tuple[str, Any]]
) -> str:
    lines = [f"{scenario_id(scenario)}: tripwire's outcome differs from PostgreSQL's"]
    width = max(len(label) for label, _ in [*real, *fake])
    for position in range(max(len(real), len(fake))):
        got_real = real[position] if position < len(real) else None
        got_fake = fake[position] if position < len(fake) else None
        if got_real == got_fake:
            lines.append(f"  {got_real[0]:<{width}}  real {got_real[1]!r}")  # type: ignore[index]
            continue
        label = got_real[0] if got_real else ""
        lines.append(f"✗ {label:<{width}}  real {_shown(got_real)}")
        label = got_fake[0] if got_fake and got_fake[0] != label else ""
        lines.append(f"  {label:<{width}}  fake {_shown(got_fake)}")
    return "\n".join(lines)


def _shown(entry: tuple[str, Any] | None) -> str:
    return "(nothing)" if entry is None else repr(entry[1])
