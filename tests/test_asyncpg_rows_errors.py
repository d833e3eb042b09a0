"""Rows and server errors: genuine Records, the look-alike, record_class, pg_error.

The ``postgres``-marked tests compare each with what a real server returns
or raises for the same values and the same violation.
"""

from __future__ import annotations

import copy
import importlib
import operator
import pickle
import sys
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import asyncpg.protocol.protocol
import pytest

import tripwire
from tripwire import ConfigurationError, StrictVerifier
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin
from tripwire_drivers.asyncpg.errors import FIELD_CODES, pg_error
from tripwire_drivers.asyncpg.records import (
    Record,
    as_record_class,
    genuine_records,
    is_genuine,
    record,
    records,
    to_record,
    to_records,
    with_record_class,
)

# The package exports a `records()` function, so reach the module itself.
records_module = importlib.import_module("tripwire_drivers.asyncpg.records")


class AttrRecord(asyncpg.Record):
    """The usual record_class: attribute access to columns."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def label(self) -> str:
        return f"#{self['id']} {self['name']}"


@pytest.fixture
def no_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As with an asyncpg that lacks the private record factory."""
    monkeypatch.delattr(asyncpg.protocol.protocol, "_create_record")
    monkeypatch.setattr(records_module, "_factory", records_module._find_factory())
    yield


# Genuine records.


def test_the_installed_asyncpg_gives_genuine_records() -> None:
    assert genuine_records()
    row = record(id=1, name="Alice")
    assert type(row) is asyncpg.Record
    assert is_genuine(row)
    assert not is_genuine(Record({"id": 1}))


def test_a_genuine_record_equals_tuples_not_dicts() -> None:
    row = record(id=1, name="Alice")
    assert row == (1, "Alice")
    assert operator.eq((1, "Alice"), row)
    assert row != {"id": 1, "name": "Alice"}
    assert dict(row) == {"id": 1, "name": "Alice"}
    assert hash(row) == hash((1, "Alice"))
    assert repr(row) == "<Record id=1 name='Alice'>"


@pytest.mark.parametrize(
    "row",
    [
        record({"id": 1, "name": "Alice"}),
        record({"id": 1}, name="Alice"),
        record(id=1, name="Alice"),
        records(["id", "name"], [(1, "Alice")])[0],
        records(("id", "name"), [[1, "Alice"]])[0],
    ],
)
def test_each_spelling_builds_the_same_record(row: Any) -> None:
    assert list(row.items()) == [("id", 1), ("name", "Alice")]
    assert row["name"] == row[1] == "Alice"


def test_record_takes_a_column_named_like_its_parameter() -> None:
    assert list(record(columns=1).keys()) == ["columns"]


def test_a_record_without_columns() -> None:
    assert repr(record()) == "<Record>"
    assert not record()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: record({"id": 1}, id=2),
            ValueError,
            r"record\(\): column\(s\) \['id'\] given twice",
        ),
        (lambda: record({1: "x"}), TypeError, r"record\(\): column names must be str"),
        (lambda: records(["a", "a"], [(1, 2)]), ValueError, r"duplicate column names \['a', 'a'\]"),
        (lambda: records("ab", [(1, 2)]), TypeError, r"needs a list of column names, got the str"),
        (lambda: records(["a"], {"a": 1}), TypeError, r"needs a list of rows \(tuples\), got dict"),
        (
            lambda: records(["a"], [{"a": 1}]),
            TypeError,
            r"row 1 is a dict; give each row as a tuple",
        ),
        (
            lambda: records(["a", "b"], [(1, 2), (3,)]),
            ValueError,
            r"row 2 has 1 value\(s\) but there are 2 columns \['a', 'b'\]",
        ),
    ],
)
def test_bad_record_arguments_say_what_to_type(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_rows_of_one_records_call_share_their_columns() -> None:
    first, second = records(["id"], [(1,), (2,)])
    assert (first["id"], second["id"]) == (1, 2)
    assert first < second


# Scripted rows.


def test_to_record_passes_genuine_records_through() -> None:
    row = record(id=1)
    assert to_record(row) is row
    rows = records(["id"], [(1,), (2,)])
    assert [a is b for a, b in zip(to_records(rows), rows, strict=True)] == [True, True]


def test_dicts_still_become_the_look_alike_that_equals_them() -> None:
    rows = to_records([{"id": 1}, {"id": 2}])
    assert rows == [{"id": 1}, {"id": 2}]
    assert rows == [(1,), (2,)]
    assert all(type(row) is Record for row in rows)


@pytest.mark.parametrize(
    ("rows", "error", "message"),
    [
        (
            records(["id"], [(1,)]) + records(["name"], [("x",)]),
            ValueError,
            r"^row 2 has columns \['name'\] but row 1 has \['id'\]$",
        ),
        (
            [record(id=1), {"id": 2}],
            TypeError,
            r"^row 2 is a dict but row 1 is made by record\(\)/records\(\)",
        ),
        (
            [{"id": 2}, record(id=1)],
            TypeError,
            r"^row 2 is made by record\(\)/records\(\) but row 1 is a dict",
        ),
    ],
)
def test_rows_of_one_result_must_agree(
    rows: list[Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        to_records(rows)


async def test_scripted_genuine_records_reach_the_code_unchanged(
    tripwire_verifier: StrictVerifier,
) -> None:
    users = records(["id", "name"], [(1, "Alice"), (2, "Bob")])
    (
        tripwire.asyncpg.new_session()
        .expect("connect", returns=None)
        .expect("fetch", returns=users)
        .expect("fetchrow", returns=record(id=1, name="Alice"))
    )
    with tripwire:
        conn = await asyncpg.connect()
        rows = await conn.fetch("SELECT id, name FROM users")
        row = await conn.fetchrow("SELECT id, name FROM users WHERE id = $1", 1)
    assert [a is b for a, b in zip(rows, users, strict=True)] == [True, True]
    assert all(isinstance(r, asyncpg.Record) for r in [*rows, row])
    assert rows == [(1, "Alice"), (2, "Bob")]
    assert row != {"id": 1, "name": "Alice"}
    tripwire.asyncpg.assert_connect()
    tripwire.asyncpg.assert_fetch(query="SELECT id, name FROM users", args=[])
    tripwire.asyncpg.assert_fetchrow(query="SELECT id, name FROM users WHERE id = $1", args=[1])


def test_mixed_rows_are_refused_at_expect(verifier: StrictVerifier, apg: AsyncpgPlugin) -> None:
    session = apg.new_session()
    with pytest.raises(ConfigurationError, match="row 2 is a dict but row 1 is made by record"):
        session.expect("fetch", returns=[record(id=1), {"id": 2}])


# The look-alike against genuine records.

OPERATIONS: dict[str, Callable[[Any], Any]] = {
    "index": lambda r: r[0],
    "negative index": lambda r: r[-1],
    "slice": lambda r: r[0:2],
    "name": lambda r: r["name"],
    "index out of range": lambda r: r[5],
    "unknown name": lambda r: r["zz"],
    "float key": lambda r: r[1.0],
    "unhashable key": lambda r: r[[1]],
    "get": lambda r: r.get("id"),
    "get by position": lambda r: r.get(0),
    "get default": lambda r: r.get("zz", 5),
    "get keyword": lambda r: r.get(key="id"),
    "get nothing": lambda r: r.get(),
    "get three": lambda r: r.get(1, 2, 3),
    "get default keyword": lambda r: r.get("id", default=3),
    "keys": lambda r: list(r.keys()),
    "values": lambda r: list(r.values()),
    "items": lambda r: list(r.items()),
    "len": len,
    "iter": list,
    "tuple": tuple,
    "dict": dict,
    "name in": lambda r: "id" in r,
    "value in": lambda r: 1 in r,
    "unhashable in": lambda r: [] in r,
    "bool": bool,
    "== tuple": lambda r: r == (1, "Alice"),
    "tuple ==": lambda r: operator.eq((1, "Alice"), r),
    "== list": lambda r: r == [1, "Alice"],
    "!= tuple": lambda r: r != (1, "Alice"),
    "< tuple": lambda r: r < (2,),
    "tuple >": lambda r: operator.gt((2,), r),
    "hash": lambda r: hash(r) == hash((1, "Alice")),
    "repr": repr,
    "str": str,
    "reversed": lambda r: list(reversed(r)),
    "pickle": pickle.dumps,
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "is a tuple": lambda r: isinstance(r, tuple),
    "public names": lambda r: [n for n in dir(r) if not n.startswith("_")],
}


def outcome(operation: Callable[[Any], Any], row: Any) -> tuple[Any, ...]:
    try:
        return ("returned", operation(row))
    except Exception as error:
        return ("raised", type(error), str(error))


# Captured now: some tests take the factory away.
CREATE_RECORD = asyncpg.protocol.protocol._create_record


def genuine_alice() -> Any:
    return CREATE_RECORD({"id": 0, "name": 1}, (1, "Alice"))


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS)
def test_the_look_alike_behaves_as_a_genuine_record(operation: Callable[[Any], Any]) -> None:
    assert outcome(operation, Record({"id": 1, "name": "Alice"})) == outcome(
        operation, genuine_alice()
    )


def test_what_the_look_alike_does_not_mirror() -> None:
    fake, real = Record({"id": 1, "name": "Alice"}), genuine_alice()
    # On purpose: the default rows also equal the dicts a test scripted.
    assert (fake == {"id": 1, "name": "Alice"}, real == {"id": 1, "name": "Alice"}) == (True, False)
    # Messages that name the type: a Python class cannot carry a dotted C type name.
    assert outcome(lambda r: r.id, fake) == (
        "raised",
        AttributeError,
        "'Record' object has no attribute 'id'",
    )
    assert outcome(lambda r: r.id, real) == (
        "raised",
        AttributeError,
        f"'{asyncpg.Record.__module__}.Record' object has no attribute 'id'",
    )


def test_the_look_alike_and_a_genuine_record_compare_equal() -> None:
    fake, real = Record({"id": 1, "name": "Alice"}), genuine_alice()
    assert fake == real
    assert real == fake
    assert fake < records(["id"], [(2,)])[0]


# Without the factory.


def test_without_the_factory_record_falls_back_to_a_look_alike(no_factory: None) -> None:
    assert not genuine_records()
    row = record(id=1, name="Alice")
    assert not is_genuine(row)
    assert isinstance(row, asyncpg.Record)  # through __class__, as the default rows
    # The same equality as a genuine record: tuples yes, dicts no.
    assert row == (1, "Alice")
    assert row != {"id": 1, "name": "Alice"}
    assert repr(row) == "<Record id=1 name='Alice'>"
    assert to_record(row) is row


def test_without_the_factory_records_keep_their_checks(no_factory: None) -> None:
    rows = records(["id"], [(1,), (2,)])
    assert to_records(rows) == [(1,), (2,)]
    assert to_records(rows) != [{"id": 1}, {"id": 2}]
    with pytest.raises(TypeError, match="row 2 is a dict"):
        to_records([rows[0], {"id": 2}])


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS)
def test_the_fallback_behaves_as_a_genuine_record(
    no_factory: None, operation: Callable[[Any], Any]
) -> None:
    assert outcome(operation, record(id=1, name="Alice")) == outcome(operation, genuine_alice())


@pytest.mark.parametrize(
    "factory",
    [
        lambda mapping, elems: (_ for _ in ()).throw(TypeError("changed signature")),
        lambda mapping, elems: tuple(elems),
    ],
    ids=["raises", "returns something else"],
)
def test_a_factory_that_misbehaves_is_not_used(
    monkeypatch: pytest.MonkeyPatch, factory: Callable[..., Any]
) -> None:
    monkeypatch.setattr(asyncpg.protocol.protocol, "_create_record", factory)
    assert records_module._find_factory() is None


# record_class=


def test_record_class_rows_pass_isinstance_and_run_the_class_methods() -> None:
    (row,) = with_record_class(to_records([{"id": 1, "name": "Alice"}]), AttrRecord)
    assert isinstance(row, AttrRecord)
    assert isinstance(row, asyncpg.Record)
    assert row.__class__ is AttrRecord
    assert row.name == "Alice"
    assert row.label() == "#1 Alice"
    assert repr(row) == "<AttrRecord id=1 name='Alice'>"
    with pytest.raises(AttributeError, match="zz"):
        row.zz  # noqa: B018
    # CPython's wording, which changed in 3.11.
    modern = sys.version_info >= (3, 11)
    pattern = "cannot pickle AttrRecord objects" if modern else "cannot pickle 'AttrRecord' object"
    with pytest.raises(TypeError, match=f"^{pattern}$"):
        copy.copy(row)


def test_record_class_keeps_the_equality_of_the_scripted_rows() -> None:
    from_dict = as_record_class(to_record({"id": 1}), AttrRecord)
    from_genuine = as_record_class(record(id=1), AttrRecord)
    assert from_dict == {"id": 1}
    assert from_genuine != {"id": 1}
    assert from_dict == from_genuine == (1,)


@pytest.mark.parametrize("record_class", [None, asyncpg.Record])
def test_the_default_record_class_leaves_rows_alone(record_class: Any) -> None:
    rows = [record(id=1)]
    assert with_record_class(rows, record_class) is rows
    assert as_record_class(None, AttrRecord) is None


def test_record_class_resolves_methods_in_its_own_order() -> None:
    class Shout:
        def keys(self) -> Any:
            return "never: asyncpg.Record.keys comes first"

        def shout(self) -> str:
            return "HI"

    class Mixed(asyncpg.Record, Shout):
        pass

    row = as_record_class(record(id=1), Mixed)
    assert list(row.keys()) == ["id"]
    assert row.shout() == "HI"
    assert isinstance(row, Shout)


def test_a_record_class_shadowing_the_look_alike_is_refused() -> None:
    class Clash(asyncpg.Record):
        _values = ()

    with pytest.raises(TypeError, match="Clash defines '_values'"):
        as_record_class(record(id=1), Clash)


def test_super_into_asyncpg_record_cannot_run_on_the_look_alike() -> None:
    class Delegating(asyncpg.Record):
        def first(self) -> Any:
            return super().__getitem__(0)

    row = as_record_class(record(id=1), Delegating)
    with pytest.raises(TypeError, match="doesn't apply to a 'Delegating' object"):
        row.first()


async def test_fetch_with_record_class_returns_that_class(
    tripwire_verifier: StrictVerifier,
) -> None:
    (
        tripwire.asyncpg.new_session()
        .expect("connect", returns=None)
        .expect("fetch", returns=[{"id": 1, "name": "Alice"}])
    )
    with tripwire:
        conn = await asyncpg.connect()
        rows = await conn.fetch("SELECT id, name FROM users", record_class=AttrRecord)
    tripwire.asyncpg.assert_connect()
    tripwire.asyncpg.assert_fetch(
        query="SELECT id, name FROM users", args=[], record_class=AttrRecord
    )
    assert isinstance(rows[0], AttrRecord)


# pg_error


def duplicate_email(**extra: Any) -> Any:
    return pg_error(
        "23505",
        'duplicate key value violates unique constraint "users_email_key"',
        detail="Key (email)=(a@b.c) already exists.",
        constraint_name="users_email_key",
        table_name="users",
        **extra,
    )


def test_pg_error_builds_the_subclass_with_the_servers_fields() -> None:
    error = duplicate_email(query="INSERT INTO users (email) VALUES ($1)")
    assert type(error) is asyncpg.UniqueViolationError
    assert str(error) == (
        'duplicate key value violates unique constraint "users_email_key"\n'
        "DETAIL:  Key (email)=(a@b.c) already exists."
    )
    assert error.args == ('duplicate key value violates unique constraint "users_email_key"',)
    assert error.as_dict() == {
        "severity": "ERROR",
        "severity_en": "ERROR",
        "sqlstate": "23505",
        "message": 'duplicate key value violates unique constraint "users_email_key"',
        "detail": "Key (email)=(a@b.c) already exists.",
        "schema_name": "public",
        "table_name": "users",
        "constraint_name": "users_email_key",
    }
    assert error.query == "INSERT INTO users (email) VALUES ($1)"


@pytest.mark.parametrize(
    ("sqlstate", "expected"),
    [
        ("40001", asyncpg.SerializationError),
        ("40P01", asyncpg.DeadlockDetectedError),
        ("57014", asyncpg.QueryCanceledError),
        ("53300", asyncpg.TooManyConnectionsError),
        ("23000", asyncpg.IntegrityConstraintViolationError),
        ("ZZ999", asyncpg.exceptions.UnknownPostgresError),
        (asyncpg.UniqueViolationError, asyncpg.UniqueViolationError),
    ],
)
def test_pg_error_picks_asyncpgs_class(sqlstate: Any, expected: type) -> None:
    error = pg_error(sqlstate, "it failed")
    assert type(error) is expected
    assert error.sqlstate == (sqlstate if isinstance(sqlstate, str) else "23505")


def test_pg_error_takes_every_other_field_by_name() -> None:
    error = pg_error(
        "57P01",
        "terminating connection due to administrator command",
        hint="Try again.",
        severity="FATAL",
        position=8,
        context="SQL statement",
        internal_query="SELECT 1",
        internal_position="3",
        server_source_filename="postgres.c",
        server_source_line=3300,
        server_source_function="ProcessInterrupts",
        column_name="c",
    )
    assert (error.severity, error.severity_en, error.position) == ("FATAL", "FATAL", "8")
    assert error.server_source_line == "3300"
    assert error.schema_name is None
    assert str(error).endswith("\nHINT:  Try again.")


def test_field_codes_agree_with_asyncpg() -> None:
    assert {code: name for name, code in FIELD_CODES.items()} == type(
        asyncpg.PostgresError
    )._field_map


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: pg_error("2355", "m"),
            ValueError,
            r"five digits or upper-case letters.*got '2355'",
        ),
        (lambda: pg_error("23505x", "m"), ValueError, "got '23505x'"),
        (lambda: pg_error("ab123", "m"), ValueError, "got 'ab123'"),
        (lambda: pg_error(23505, "m"), ValueError, "got 23505"),
        (lambda: pg_error("01000", "m"), ValueError, "'01000' is a completion condition"),
        (lambda: pg_error("00000", "m"), ValueError, "errors start at class 03"),
        (
            lambda: pg_error(ValueError, "m"),
            TypeError,
            "or an asyncpg error class .* got ValueError",
        ),
        (lambda: pg_error(asyncpg.PostgresError, "m"), TypeError, "got PostgresError"),
        (lambda: pg_error("23505", None), TypeError, "message must be a str, got NoneType"),
        (lambda: pg_error("23505", "m", detail=1), TypeError, "detail must be a str, got 1"),
        (lambda: pg_error("23505", "m", colour="red"), TypeError, r"unexpected .*\['colour'\]"),
        (lambda: pg_error("23505", "m", query=b"x"), TypeError, "query must be a str"),
    ],
)
def test_pg_error_refuses_what_a_server_never_sends(
    call: Callable[[], Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


async def insert_with_retry(conn: Any, email: str) -> str:
    """Code under test: retry once under another address on a duplicate."""
    try:
        return str(await conn.execute("INSERT INTO users (email) VALUES ($1)", email))
    except asyncpg.UniqueViolationError as error:
        assert error.constraint_name == "users_email_key"
        return str(await conn.execute("INSERT INTO users (email) VALUES ($1)", "2." + email))


async def test_a_scripted_pg_error_reaches_the_code_as_the_servers(
    tripwire_verifier: StrictVerifier,
) -> None:
    (
        tripwire.asyncpg.new_session()
        .expect("connect", returns=None)
        .expect("execute", raises=duplicate_email())
        .expect("execute", returns="INSERT 0 1")
    )
    with tripwire:
        conn = await asyncpg.connect()
        assert await insert_with_retry(conn, "a@b.c") == "INSERT 0 1"
    tripwire.asyncpg.assert_connect()
    tripwire.asyncpg.assert_execute(query="INSERT INTO users (email) VALUES ($1)", args=["a@b.c"])
    tripwire.asyncpg.assert_execute(query="INSERT INTO users (email) VALUES ($1)", args=["2.a@b.c"])


def exception_classes() -> list[type[BaseException]]:
    return sorted(
        {
            value
            for value in vars(asyncpg).values()
            if isinstance(value, type) and issubclass(value, BaseException)
        },
        key=lambda cls: cls.__name__,
    )


def builds_bare(cls: type[BaseException]) -> bool:
    try:
        str(cls())
    except Exception:
        return False
    return True


@pytest.mark.parametrize("error_class", exception_classes(), ids=lambda c: c.__name__)
def test_raises_takes_every_asyncpg_class_that_builds_without_arguments(
    verifier: StrictVerifier, apg: AsyncpgPlugin, error_class: type[BaseException]
) -> None:
    session = apg.new_session()
    if builds_bare(error_class):
        session.expect("connect", raises=error_class)
        return
    with pytest.raises(ConfigurationError, match=rf"pass one: raises={error_class.__name__}\("):
        session.expect("connect", raises=error_class)


def test_a_bare_unique_violation_class_is_refused_with_the_spelling_to_use(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        apg.new_session().expect("execute", raises=asyncpg.UniqueViolationError)
    assert str(caught.value) == (
        "expect('execute', raises=UniqueViolationError) cannot make an instance "
        "(IndexError: tuple index out of range); pass one: "
        "raises=UniqueViolationError('what happened')"
    )


# Against a real server.


@pytest.mark.postgres
async def test_genuine_records_match_the_servers_rows(postgres_dsn: str) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        served = await conn.fetch(
            "SELECT * FROM (VALUES (1, 'Alice'::text), (2, 'Bob')) AS t(id, name) ORDER BY id"
        )
        row = await conn.fetchrow("SELECT 1 AS id, 'Alice'::text AS name", record_class=AttrRecord)
        empty = await conn.fetchrow("SELECT")
    finally:
        await conn.close()
    built = records(["id", "name"], [(1, "Alice"), (2, "Bob")])
    assert [type(r) for r in built] == [type(r) for r in served]
    for mine, theirs in zip(built, served, strict=True):
        for operation in OPERATIONS.values():
            assert outcome(operation, mine) == outcome(operation, theirs)
    assert built == served
    assert repr(record()) == repr(empty)
    fake = as_record_class(record(id=1, name="Alice"), AttrRecord)
    for look in (repr, lambda r: r.name, lambda r: r.label(), tuple, dict, hash):
        assert look(fake) == look(row)
    assert isinstance(fake, AttrRecord) and isinstance(row, AttrRecord)
    assert outcome(copy.copy, fake) == outcome(copy.copy, row)


@pytest.mark.postgres
@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS)
async def test_the_look_alike_matches_the_servers_rows(
    postgres_dsn: str, operation: Callable[[Any], Any]
) -> None:
    conn = await asyncpg.connect(postgres_dsn)
    try:
        served = await conn.fetchrow("SELECT 1 AS id, 'Alice'::text AS name")
    finally:
        await conn.close()
    assert outcome(operation, Record({"id": 1, "name": "Alice"})) == outcome(operation, served)


@pytest.fixture
async def users_table(postgres_dsn: str) -> Any:
    conn = await asyncpg.connect(postgres_dsn)
    await conn.execute(
        "CREATE TABLE tw_users (id serial PRIMARY KEY, "
        "email text CONSTRAINT tw_users_email_key UNIQUE, name text NOT NULL)"
    )
    await conn.execute("INSERT INTO tw_users (email, name) VALUES ('a@b.c', 'A')")
    try:
        yield conn
    finally:
        await conn.execute("DROP TABLE tw_users")
        await conn.close()


async def server_error(conn: Any, query: str, *args: Any) -> Any:
    with pytest.raises(asyncpg.PostgresError) as caught:
        await conn.execute(query, *args)
    return caught.value


COMPARED = (
    "sqlstate",
    "severity",
    "severity_en",
    "message",
    "detail",
    "hint",
    "constraint_name",
    "table_name",
    "schema_name",
    "column_name",
    "data_type_name",
    "query",
)


@pytest.mark.postgres
async def test_pg_error_matches_the_servers_unique_violation(users_table: Any) -> None:
    query = "INSERT INTO tw_users (email, name) VALUES ($1, 'B')"
    real = await server_error(users_table, query, "a@b.c")
    mine = pg_error(
        "23505",
        'duplicate key value violates unique constraint "tw_users_email_key"',
        detail="Key (email)=(a@b.c) already exists.",
        constraint_name="tw_users_email_key",
        table_name="tw_users",
        query=query,
    )
    assert type(mine) is type(real)
    assert str(mine) == str(real)
    assert mine.args == real.args
    assert [getattr(mine, f) for f in COMPARED] == [getattr(real, f) for f in COMPARED]


@pytest.mark.postgres
async def test_pg_error_matches_the_servers_not_null_violation(users_table: Any) -> None:
    query = "INSERT INTO tw_users (email) VALUES ($1)"
    real = await server_error(users_table, query, "z@b.c")
    mine = pg_error(
        asyncpg.NotNullViolationError,
        'null value in column "name" of relation "tw_users" violates not-null constraint',
        detail=real.detail,  # the failing row carries the serial the server drew
        column_name="name",
        table_name="tw_users",
        query=query,
    )
    assert type(mine) is type(real)
    assert str(mine) == str(real)
    assert [getattr(mine, f) for f in COMPARED] == [getattr(real, f) for f in COMPARED]


@pytest.mark.postgres
async def test_the_fake_raises_what_the_server_raises(
    users_table: Any, verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    query = "INSERT INTO tw_users (email, name) VALUES ($1, 'B')"
    real = await server_error(users_table, query, "a@b.c")
    scripted = pg_error(
        "23505",
        'duplicate key value violates unique constraint "tw_users_email_key"',
        detail="Key (email)=(a@b.c) already exists.",
        constraint_name="tw_users_email_key",
        table_name="tw_users",
        query=query,
    )
    apg.new_session().expect("connect", returns=None).expect("execute", raises=scripted)
    async with verifier.sandbox():
        conn = await asyncpg.connect()
        faked = await server_error(conn, query, "a@b.c")
    assert type(faked) is type(real)
    assert str(faked) == str(real)
    # Everything scripted matches; the server adds its source location on top.
    assert faked.as_dict().items() <= real.as_dict().items()
