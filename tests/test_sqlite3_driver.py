"""The sqlite3 driver, checked against the real sqlite3 module where it can be.

Most tables are differential: the same action runs on a real in-memory
connection and on the fake, and both must end the same way (same value, or
same exception class and message).
"""

from __future__ import annotations

import re
import sqlite3
import sqlite3.dbapi2
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

import tripwire
from tripwire import (
    ClientCheckError,
    ConfigurationError,
    InteractionMismatchError,
    InvalidStateError,
    MissingAssertionFieldsError,
    NotSupportedError,
    RefusalError,
    SandboxClosedError,
    StrictVerifier,
    UnassertedInteractionsError,
    UnmockedInteractionError,
)
from tripwire.plugins.sqlite3_plugin import Sqlite3Plugin
from tripwire_drivers.sqlite3 import Connection, Cursor, Result

# The builtin, bound before any sandbox replaces the module attribute.
REAL_CONNECT = sqlite3.connect
SCHEMA = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"
INSERT = "INSERT INTO t (name) VALUES (?)"
ROWS = [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]


@pytest.fixture
def sq() -> Iterator[Sqlite3Plugin]:
    """A plugin on a verifier of the test's own, inside an open sandbox."""
    verifier = StrictVerifier()
    plugin = Sqlite3Plugin(verifier)
    with verifier.sandbox():
        yield plugin
    # Most tests here compare with sqlite3 and assert no interactions, so they
    # skip verify_all(); a required step must still have been used.
    unused = [step for session in plugin.sessions for step in session.script if step.required]
    assert not unused, f"required steps never used: {unused}"


def fake(sq: Sqlite3Plugin, *steps: Any, required: bool = False, **connect: Any) -> Connection:
    """Connect a fake whose script is *steps*: names, or (name, returns) pairs."""
    handle = sq.new_session().expect("connect", returns=None)
    for step in steps:
        name, returns = step if isinstance(step, tuple) else (step, [] if "exec" in step else None)
        handle.expect(name, returns=returns, required=required)
    connection: Connection = sqlite3.connect(":memory:", **connect)
    return connection


def real(**connect: Any) -> sqlite3.Connection:
    connection = REAL_CONNECT(":memory:", **connect)
    connection.execute(SCHEMA)
    connection.executemany(INSERT, [(name,) for _, name in ROWS])
    connection.commit()
    return connection


def outcome(action: Callable[[], Any]) -> tuple[str, Any]:
    """("ok", value) or (sqlite3's or Python's exception class name, message)."""
    try:
        return "ok", action()
    except (sqlite3.Error, sqlite3.Warning, TypeError, ValueError, OverflowError) as exc:
        native = next(c for c in type(exc).__mro__ if c.__module__ in ("sqlite3", "builtins"))
        return native.__name__, str(exc)


def refusal(sq: Sqlite3Plugin) -> RefusalError:
    """The one refusal the test provoked, acknowledged."""
    (error,) = sq.verifier.acknowledge_refusals()
    return error


def assert_refused_as_closed(sq: Sqlite3Plugin) -> None:
    """The one refusal is a state refusal that sqlite3 code catches as ProgrammingError."""
    error = refusal(sq)
    assert isinstance(error, InvalidStateError) and isinstance(error, sqlite3.ProgrammingError)


# The happy path


def test_every_method_runs_and_verifies(sq: Sqlite3Plugin) -> None:
    rows = Result(rows=ROWS, columns=["id", "name"])
    steps = ["execute", ("execute", rows), "executemany", "commit", "rollback", "close"]
    conn = fake(sq, *steps, required=True, timeout=1.0)
    conn.execute(INSERT, ("a",))
    cursor = conn.cursor()
    cursor.execute("SELECT id, name FROM t")
    fetched = [
        cursor.fetchone(),
        cursor.fetchmany(),
        cursor.fetchmany(2),
        *cursor,
        cursor.fetchall(),
    ]
    assert fetched == [ROWS[0], ROWS[1:2], ROWS[2:4], ROWS[4], []]
    assert cursor.description == (("id",) + (None,) * 6, ("name",) + (None,) * 6)
    assert cursor.executemany(INSERT, [("x",), ["y"]]) is cursor
    conn.commit()
    conn.rollback()
    conn.close()
    sq.assert_connect(database=":memory:", timeout=1.0)
    sq.assert_execute(sql=INSERT, parameters=("a",))
    sq.assert_execute(sql="SELECT id, name FROM t", parameters=())
    sq.assert_executemany(sql=INSERT, parameters=[("x",), ("y",)])
    sq.assert_commit()
    sq.assert_rollback()
    sq.assert_close()
    sq.verifier.verify_all()


def test_the_facade_and_the_plugins_path_name_one_driver() -> None:
    assert isinstance(tripwire.sqlite3, Sqlite3Plugin)


FETCHES: list[Callable[[Any], Any]] = [
    lambda c: c.fetchone(),
    lambda c: c.fetchall(),
    lambda c: c.fetchmany(),
    lambda c: c.fetchmany(2),
    lambda c: c.fetchmany(size=0),
    lambda c: c.fetchmany(-1),
    lambda c: [c.fetchall(), c.fetchone(), c.fetchmany(), c.fetchall()],
    lambda c: list(c),
    lambda c: [setattr(c, "arraysize", 3), c.fetchmany(), c.arraysize],
    lambda c: c.fetchmany(None),
    lambda c: c.fetchmany("2"),
    lambda c: setattr(c, "arraysize", "3"),
    lambda c: [c.rowcount, c.connection is not None],
]


@pytest.mark.parametrize("fetch", FETCHES)
def test_fetching_matches_sqlite3(sq: Sqlite3Plugin, fetch: Callable[[Any], Any]) -> None:
    query = "SELECT id, name FROM t"
    expected = outcome(lambda: fetch(real().execute(query)))
    assert outcome(lambda: fetch(fake(sq, ("execute", ROWS)).execute(query))) == expected


def test_a_cursor_that_never_ran_has_nothing(sq: Sqlite3Plugin) -> None:
    cursor = fake(sq).cursor()
    state = (cursor.fetchone(), cursor.fetchall(), cursor.rowcount, cursor.lastrowid)
    assert (*state, cursor.description, cursor.arraysize) == (None, [], -1, None, None, 1)


# Transactions: the state follows sqlite3's rules


def _action(conn: Any, action: str) -> Callable[[], Any]:
    if action.endswith("()"):
        return lambda: getattr(conn, action[:-2])()
    return lambda: conn.execute(action) and None


def _steps(actions: list[str]) -> list[str]:
    return [a[:-2] if a.endswith("()") else "execute" for a in actions]


TRANSACTIONS = [
    ("", ["INSERT INTO t (name) VALUES ('x')"]),
    ("", ["SELECT * FROM t"]),
    ("", [" -- lead\n/* block */ update t SET name = 'y'"]),
    ("", ["replace into t (id, name) values (1, 'r')", "commit()"]),
    ("", ["DELETE FROM t", "rollback()"]),
    ("", ["WITH q AS (SELECT 1) INSERT INTO t (name) SELECT 'w' FROM q"]),
    ("", ["CREATE TABLE u (x)", "PRAGMA user_version"]),
    ("", ["commit()", "rollback()", "INSERT INTO t (name) VALUES ('x')", "commit()", "commit()"]),
    ("", ["BEGIN", "INSERT INTO t (name) VALUES ('x')", "COMMIT", "BEGIN", "begin immediate"]),
    ("IMMEDIATE", ["INSERT INTO t (name) VALUES ('x')", "BEGIN", "END"]),
    (None, ["INSERT INTO t (name) VALUES ('x')", "UPDATE t SET name = 'z'"]),
    (None, ["BEGIN", "INSERT INTO t (name) VALUES ('x')", "COMMIT", "commit()"]),
    (None, ["COMMIT", "ROLLBACK", "END TRANSACTION", "rollback transaction"]),
    (None, ["begin deferred transaction", "rollback()", "BEGIN EXCLUSIVE", "END"]),
    (None, ["SAVEPOINT a", "SAVEPOINT b", "RELEASE b", "ROLLBACK TO a", "RELEASE SAVEPOINT a"]),
    (None, ["BEGIN", "SAVEPOINT q", "RELEASE q", "ROLLBACK"]),
    (None, ["SAVEPOINT s1", "SAVEPOINT s2", "RELEASE s1", "RELEASE zz", "ROLLBACK TO zz"]),
    (None, ['SAVEPOINT "Mixed"', "ROLLBACK TRANSACTION TO SAVEPOINT mixed", "commit()"]),
]


@pytest.mark.parametrize(("isolation_level", "actions"), TRANSACTIONS)
def test_transaction_state_matches_sqlite3(
    sq: Sqlite3Plugin, isolation_level: str | None, actions: list[str]
) -> None:
    def run(conn: Any) -> list[tuple[tuple[str, Any], bool]]:
        return [(outcome(_action(conn, a)), conn.in_transaction) for a in actions]

    expected = run(real(isolation_level=isolation_level))
    conn = fake(sq, *_steps(actions), isolation_level=isolation_level)
    assert run(conn) == expected
    sq.verifier.acknowledge_refusals()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("BEGIN", "cannot start a transaction within a transaction"),
        ("RELEASE nowhere", "no such savepoint: nowhere"),
    ],
)
def test_a_transaction_statement_sqlite_fails_is_refused(
    sq: Sqlite3Plugin, sql: str, message: str
) -> None:
    conn = fake(sq, "execute", "execute")
    conn.execute("BEGIN")
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute(sql)
    assert str(caught.value) == message and isinstance(refusal(sq), InvalidStateError)


def test_the_implicit_begin_comes_before_binding(sq: Sqlite3Plugin) -> None:
    def run(conn: Any) -> tuple[tuple[str, Any], bool]:
        return outcome(lambda: conn.execute(INSERT, ("a", "b")) and None), conn.in_transaction

    assert run(fake(sq, "execute")) == run(real()) == (run(real())[0], True)
    refusal(sq)


def test_a_failing_statement_leaves_its_transaction_open(sq: Sqlite3Plugin) -> None:
    def run(conn: Any) -> tuple[str, bool]:
        return outcome(lambda: conn.execute("INSERT INTO t (id) VALUES (1)"))[
            0
        ], conn.in_transaction

    error = sqlite3.IntegrityError("UNIQUE constraint failed: t.id")
    sq.new_session().expect("connect", returns=None).expect("execute", raises=error)
    assert run(sqlite3.connect(":memory:")) == run(real()) == ("IntegrityError", True)


def test_a_failed_commit_keeps_the_transaction_open(sq: Sqlite3Plugin) -> None:
    handle = sq.new_session().expect("connect", returns=None).expect("execute", returns=[])
    handle.expect("commit", raises=sqlite3.IntegrityError("FOREIGN KEY constraint failed"))
    conn = sqlite3.connect(":memory:")
    conn.execute(INSERT, ("a",))
    with pytest.raises(sqlite3.IntegrityError):
        conn.commit()
    assert conn.in_transaction


def test_setting_isolation_level_to_none_commits(sq: Sqlite3Plugin) -> None:
    conn = fake(sq, "execute", "commit", "execute", required=True)
    conn.execute(INSERT, ("a",))
    conn.isolation_level = None
    conn.execute(INSERT, ("b",))
    assert (conn.in_transaction, conn.isolation_level) == (False, None)


@pytest.mark.parametrize("value", ["exclusive", "", "bogus", 3, b"DEFERRED"])
def test_isolation_level_values_match_sqlite3(sq: Sqlite3Plugin, value: Any) -> None:
    def run(conn: Any) -> tuple[str, Any]:
        return outcome(lambda: [setattr(conn, "isolation_level", value), conn.isolation_level])

    assert run(fake(sq)) == run(real())


# `with connection:`


def test_with_commits_on_success_and_does_not_close(sq: Sqlite3Plugin) -> None:
    conn = fake(sq, "execute", "commit", "execute", required=True)
    with conn as entered:
        entered.execute(INSERT, ("a",))
    conn.execute("SELECT 1")
    assert (entered is conn, conn.in_transaction) == (True, False)


def test_with_rolls_back_on_an_exception_and_lets_it_through(sq: Sqlite3Plugin) -> None:
    conn = fake(sq, "execute", "rollback", required=True)
    with pytest.raises(KeyError), conn:
        conn.execute(INSERT, ("a",))
        raise KeyError("boom")
    assert not conn.in_transaction


def test_with_rolls_back_a_failed_commit(sq: Sqlite3Plugin) -> None:
    handle = sq.new_session().expect("connect", returns=None).expect("execute", returns=[])
    handle.expect("commit", raises=sqlite3.IntegrityError).expect("rollback", returns=None)
    conn = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.IntegrityError), conn:
        conn.execute(INSERT, ("a",))
    assert not conn.in_transaction


# Closed connections and cursors: sqlite3's errors, and tripwire's refusals

ON_CLOSED: list[Callable[[Any, Any], Any]] = [
    lambda conn, cur: conn.execute("SELECT 1"),
    lambda conn, cur: conn.executemany(INSERT, []),
    lambda conn, cur: conn.cursor(),
    lambda conn, cur: conn.commit(),
    lambda conn, cur: conn.rollback(),
    lambda conn, cur: conn.in_transaction,
    lambda conn, cur: conn.total_changes,
    lambda conn, cur: conn.isolation_level,
    lambda conn, cur: setattr(conn, "isolation_level", None),
    lambda conn, cur: conn.__enter__(),
    lambda conn, cur: conn.__exit__(None, None, None),
    lambda conn, cur: cur.fetchone(),
    lambda conn, cur: cur.fetchall(),
    lambda conn, cur: cur.execute("SELECT 1"),
    lambda conn, cur: cur.close(),
    lambda conn, cur: next(cur),
]


@pytest.mark.parametrize("action", ON_CLOSED)
def test_a_closed_connection_refuses_like_sqlite3(
    sq: Sqlite3Plugin, action: Callable[[Any, Any], Any]
) -> None:
    def run(conn: Any) -> tuple[str, Any]:
        cursor = conn.execute("SELECT 1")
        conn.close()
        return outcome(lambda: action(conn, cursor))

    expected = run(real())
    got = run(fake(sq, "execute", "close"))
    if expected[0] == "ok":
        # Up to Python 3.10 sqlite3 lets `with` and isolation_level=None through
        # on a closed connection; the fake must too, refusing nothing.
        assert expected[0] == got[0] and not sq.verifier.acknowledge_refusals()
        return
    assert expected == got == ("ProgrammingError", "Cannot operate on a closed database.")
    assert_refused_as_closed(sq)


ON_CLOSED_CURSOR: list[Callable[[Any], Any]] = [
    lambda cur: cur.fetchone(),
    lambda cur: cur.fetchmany(),
    lambda cur: cur.fetchall(),
    lambda cur: next(cur),
    lambda cur: cur.execute("SELECT 1"),
    lambda cur: cur.executemany(INSERT, []),
]


@pytest.mark.parametrize("action", ON_CLOSED_CURSOR)
def test_a_closed_cursor_refuses_like_sqlite3(
    sq: Sqlite3Plugin, action: Callable[[Any], Any]
) -> None:
    def run(conn: Any) -> tuple[str, Any]:
        cursor = conn.execute("SELECT 1")
        cursor.close()
        return outcome(lambda: action(cursor))

    assert (
        run(real())
        == run(fake(sq, "execute"))
        == (
            "ProgrammingError",
            "Cannot operate on a closed cursor.",
        )
    )
    assert_refused_as_closed(sq)


def test_closing_twice_is_a_no_op_recorded_once(sq: Sqlite3Plugin) -> None:
    conn = fake(sq, "close", required=True)
    cursor = conn.cursor()
    cursor.close()
    cursor.close()
    conn.close()
    conn.close()
    sq.assert_connect(database=":memory:")
    sq.assert_close()
    sq.verifier.verify_all()


def test_the_refusal_explains_itself_in_a_note(sq: Sqlite3Plugin) -> None:
    conn = fake(sq, "close")
    conn.close()
    with pytest.raises(InvalidStateError) as caught:
        conn.commit()
    assert "sqlite3 session #1 is in state 'closed'" in str(caught.value.explanation)
    refusal(sq)


def test_a_connection_used_after_its_sandbox_is_refused() -> None:
    verifier = StrictVerifier()
    plugin = Sqlite3Plugin(verifier)
    plugin.new_session().expect("connect", returns=None)
    with verifier.sandbox():
        conn = sqlite3.connect(":memory:")
    with pytest.raises(SandboxClosedError):
        conn.execute("SELECT 1")
    verifier.acknowledge_refusals()


# Client-side checks: bindings, statements, threads

BINDINGS = [
    ("SELECT ?", (1, 2)),
    ("SELECT ?", ()),
    ("SELECT ?, ?", [1]),
    ("SELECT 1", (1,)),
    ("SELECT :a", {"b": 1}),
    ("SELECT :a, :b", {"a": 1}),
    ("SELECT @a, $b", {"a": 1}),
    ("SELECT :a", (1,)),
    ("SELECT :a, :a", (1,)),
    ("SELECT ?1, ?1, ?", (1,)),
    ("SELECT ?3", (1,)),
    ("SELECT ?", {"a": 1}),
    ("SELECT ?1", {"1": 5}),
    ("SELECT :a, ?", (1, 2)),
    ("SELECT 1", {"x": 1}),
    ("SELECT ?", 5),
    ("SELECT ?", "ab"),
    ("SELECT '?', ? -- ?\n", (1,)),
    ('SELECT ? /* ? */, "?", [?], `?` FROM (SELECT 1 AS "?", 2 AS [?], 3 AS `?`)', (1,)),
    ("SELECT a$b FROM (SELECT 1 AS a$b)", ()),
    ("SELECT ?", (Decimal(1),)),
    ("SELECT :a, :b", {"a": 1, "b": [2]}),
    ("SELECT ?, ?, ?, ?", (True, 1.5, bytearray(b"x"), memoryview(b"y"))),
    ("SELECT ?", (2**63,)),
    ("SELECT ?", (-(2**63),)),
    ("SELECT 1; SELECT 2", ()),
    ("SELECT 1;  -- trailing comment\n", ()),
    ("SELECT 1;;", ()),
    (INSERT, ("a", "b")),
    (5, ()),
]


@pytest.mark.parametrize(("sql", "parameters"), BINDINGS)
def test_bindings_are_checked_like_sqlite3(sq: Sqlite3Plugin, sql: Any, parameters: Any) -> None:
    expected = outcome(lambda: real().execute(sql, parameters) and None)
    assert outcome(lambda: fake(sq, "execute").execute(sql, parameters) and None) == expected
    refused = sq.verifier.acknowledge_refusals()
    assert all(isinstance(error, ClientCheckError) for error in refused)


MANY = [
    (INSERT, [("a",), ("b",)]),
    (INSERT, (row for row in [("a",), ("b",)])),
    (INSERT, []),
    (INSERT, [("a",), ("b", "c")]),
    (INSERT, 5),
    (INSERT, [5]),
    ("INSERT INTO t (name) VALUES (:n)", [{"n": 1}, {"x": 2}]),
    ("SELECT ?", [(1,)]),
    ("VALUES (?)", [(1,)]),
    ("PRAGMA user_version", [()]),
    ("PRAGMA user_version = 3", [()]),
    ("WITH q AS (SELECT 1) SELECT * FROM q", [()]),
    ("WITH q AS (SELECT 1) INSERT INTO t (name) SELECT ? FROM q", [("a",)]),
    ("BEGIN", [()]),
    ("", []),
    (INSERT + "; SELECT 1", []),
]


@pytest.mark.parametrize(("sql", "parameters"), MANY)
def test_executemany_checks_like_sqlite3(sq: Sqlite3Plugin, sql: str, parameters: Any) -> None:
    def run(conn: Any, params: Any) -> tuple[tuple[str, Any], bool]:
        return outcome(lambda: conn.executemany(sql, params) and None), conn.in_transaction

    if not isinstance(parameters, (list, int)):
        expected = run(real(), (row for row in [("a",), ("b",)]))
    else:
        expected = run(real(), parameters)
    assert run(fake(sq, "executemany"), parameters) == expected
    sq.verifier.acknowledge_refusals()


@pytest.mark.parametrize(
    ("sql", "parameters"),
    [
        ("SELECT ?", (1, 2)),
        ("SELECT :name", {}),
        ("SELECT 1; SELECT 2", ()),
        ("SELECT ?", (object(),)),
    ],
)
def test_binding_errors_keep_sqlite3s_text(sq: Sqlite3Plugin, sql: str, parameters: Any) -> None:
    # The running Python's sqlite3 says what to expect: its classes and
    # texts changed in 3.11.
    with pytest.raises((sqlite3.Error, sqlite3.Warning)) as real_error:
        real().execute(sql, parameters)
    with pytest.raises(type(real_error.value)) as caught:
        fake(sq, "execute").execute(sql, parameters)
    assert str(caught.value) == str(real_error.value)
    assert isinstance(refusal(sq), ClientCheckError)


def test_another_thread_is_refused_unless_sharing_is_allowed(sq: Sqlite3Plugin) -> None:
    strict = fake(sq, "execute")
    shared = fake(sq, "execute", required=True, check_same_thread=False)
    results: list[tuple[str, Any]] = []
    thread = threading.Thread(
        target=lambda: results.extend(
            outcome(lambda c=c: c.execute("SELECT 1") and None) for c in (strict, shared)
        )
    )
    thread.start()
    thread.join()
    assert results[0][0] == "ProgrammingError" and results[1] == ("ok", None)
    assert results[0][1].startswith("SQLite objects created in a thread can only be used in")
    assert isinstance(refusal(sq), ClientCheckError)


# Scripting: what expect() accepts


@pytest.mark.parametrize(
    ("step", "returns", "fragment"),
    [
        ("execute", None, "script [] for a statement that yields none"),
        ("execute", "rows", "rows are a list of tuples, got str"),
        ("execute", {"id": 1}, "rows are a list of tuples, got dict"),
        ("execute", [{"id": 1}], "row 1 is a dict; sqlite3 returns each row as a tuple"),
        ("execute", [(1,), (1, 2)], "row 2 has 2 values but row 1 has 1"),
        ("execute", 5, "rows are a list of tuples, got int"),
        ("executemany", [(1,)], "executemany() yields no rows"),
        ("executemany", Result(lastrowid=3), "leaves lastrowid unchanged"),
        ("connect", object(), "returns must be None"),
        ("commit", [], "returns must be None"),
    ],
)
def test_expect_refuses_a_bad_shape(
    sq: Sqlite3Plugin, step: str, returns: Any, fragment: str
) -> None:
    with pytest.raises(ConfigurationError, match=r"is refused: (.|\n)*" + re.escape(fragment)):
        sq.new_session().expect(step, returns=returns)


@pytest.mark.parametrize("step", ["begin", "end", "cursor", "fetch", "inspect", "fetchone"])
def test_only_calls_the_code_makes_can_be_scripted(sq: Sqlite3Plugin, step: str) -> None:
    with pytest.raises(ConfigurationError, match="valid steps: connect, execute, executemany"):
        sq.new_session().expect(step, returns=None)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"rows": "ab"}, "rows are a list of tuples"),
        ({"rowcount": "1"}, "rowcount must be an int"),
        ({"lastrowid": True}, "lastrowid must be an int"),
        ({"columns": "ab"}, "columns are a list of names"),
        ({"columns": [1]}, "column names must be str"),
        ({"rows": [(1,)], "columns": ["a", "b"]}, "2 columns"),
    ],
)
def test_result_validates_itself(fields: dict[str, Any], error: str) -> None:
    with pytest.raises((TypeError, ValueError), match=error):
        Result(**fields)


# What a cursor reports beyond its rows

REPORTS: list[tuple[str, Any, Callable[[Any], Any], Any]] = [
    ("SELECT 1", [(1,)], lambda c: c.rowcount, -1),
    ("CREATE TABLE u (x)", [], lambda c: (c.rowcount, c.description), (-1, None)),
    (INSERT, Result(rowcount=1, lastrowid=7), lambda c: (c.rowcount, c.lastrowid), (1, 7)),
    (INSERT, [], lambda c: c.description, None),
    ("UPDATE t SET name = 'z'", Result(rowcount=3), lambda c: c.connection.total_changes, 3),
    ("SELECT id FROM t", Result(rows=[(1,)], columns=["id"]), lambda c: c.description[0][0], "id"),
    ("SELECT id FROM t", [], lambda c: c.lastrowid, 0),
    (INSERT, [], lambda c: c.rowcount, UnmockedInteractionError),
    (INSERT, [], lambda c: c.lastrowid, UnmockedInteractionError),
    (INSERT, [], lambda c: c.connection.total_changes, UnmockedInteractionError),
    ("SELECT id FROM t", [(1,)], lambda c: c.description, UnmockedInteractionError),
    ("SELECT id FROM t", [], lambda c: c.description, UnmockedInteractionError),
]


@pytest.mark.parametrize(("sql", "returns", "read", "expected"), REPORTS)
def test_cursor_reports_what_was_scripted(
    sq: Sqlite3Plugin, sql: str, returns: Any, read: Callable[[Any], Any], expected: Any
) -> None:
    cursor = fake(sq, ("execute", returns)).execute(sql, ("a",) if "?" in sql else ())
    if isinstance(expected, type):
        with pytest.raises(expected, match=r"Script it there: returns=tripwire\.sqlite3\.Result"):
            read(cursor)
        refusal(sq)
    else:
        assert read(cursor) == expected


def test_lastrowid_is_the_connections_last_insert(sq: Sqlite3Plugin) -> None:
    conn = fake(sq, ("execute", Result(lastrowid=5)), "execute", "execute", "execute")
    conn.execute(INSERT, ("a",))
    assert conn.execute("SELECT 1").lastrowid == 5
    conn.execute(INSERT, ("b",))
    with pytest.raises(UnmockedInteractionError, match=r"script of execute\('INSERT"):
        _ = conn.execute("SELECT 1").lastrowid
    refusal(sq)


# Assertions


def test_connect_records_the_arguments_by_name(sq: Sqlite3Plugin) -> None:
    sq.new_session().expect("connect", returns=None)
    sqlite3.dbapi2.connect(":memory:", 2.5, isolation_level=None, factory=sqlite3.Connection)
    sq.assert_connect(
        database=":memory:", timeout=2.5, isolation_level=None, factory=sqlite3.Connection
    )
    sq.verifier.verify_all()


def test_parameters_are_recorded_as_tuples_dicts_and_lists(sq: Sqlite3Plugin) -> None:
    conn = fake(sq, "execute", "execute", "execute", "executemany", required=True)
    conn.execute("SELECT 1")
    conn.execute("SELECT ?", [1])
    conn.execute("SELECT :a", {"a": 1})
    conn.executemany(INSERT, iter([["a"], ("b",)]))
    recorded = [i.fields["parameters"] for i in list(sq.verifier.timeline)[1:]]
    assert recorded == [(), (1,), {"a": 1}, [("a",), ("b",)]]
    sq.assert_connect(database=":memory:")
    sq.assert_execute(sql="SELECT 1", parameters=[])
    sq.assert_execute(sql="SELECT ?", parameters=(1,))
    sq.assert_execute(sql="SELECT :a", parameters={"a": 1})
    sq.assert_executemany(sql=INSERT, parameters=[["a"], ["b"]])
    sq.verifier.verify_all()


@pytest.mark.parametrize(
    ("assertion", "error"),
    [
        (lambda p: p.assert_connect(), MissingAssertionFieldsError),
        (lambda p: p.assert_connect(database="other.db"), InteractionMismatchError),
        (lambda p: p.assert_execute(sql="SELECT ?", parameters=[1]), InteractionMismatchError),
        (
            lambda p: (p.assert_connect(database=":memory:"), p.assert_execute(sql="SELECT ?")),
            MissingAssertionFieldsError,
        ),
        (
            lambda p: (p.assert_connect(database=":memory:"), p.assert_execute(parameters=[1])),
            MissingAssertionFieldsError,
        ),
        (
            lambda p: (
                p.assert_connect(database=":memory:"),
                p.assert_execute(sql="SELECT ?", parameters=[2]),
            ),
            InteractionMismatchError,
        ),
        (
            lambda p: (p.assert_connect(database=":memory:"), p.assert_commit()),
            InteractionMismatchError,
        ),
    ],
)
def test_assertions_refuse_what_does_not_match(
    sq: Sqlite3Plugin, assertion: Callable[[Sqlite3Plugin], Any], error: type[Exception]
) -> None:
    fake(sq, "execute", required=True).execute("SELECT ?", [1])
    with pytest.raises(error):
        assertion(sq)


def test_an_unasserted_interaction_fails_verification(sq: Sqlite3Plugin) -> None:
    fake(sq, "close", required=True).close()
    sq.assert_connect(database=":memory:")
    with pytest.raises(UnassertedInteractionsError, match=r"tripwire\.sqlite3\.assert_close\(\)"):
        sq.verifier.verify_all()


# What the fake does not do


@pytest.mark.parametrize(
    "name", ["create_function", "backup", "iterdump", "executescript", "set_trace_callback"]
)
def test_unsupported_connection_methods_are_refused_by_name(sq: Sqlite3Plugin, name: str) -> None:
    conn = fake(sq)
    assert hasattr(conn, name)
    with pytest.raises(NotSupportedError, match=rf"sqlite3\.Connection\.{name}\(\) is not"):
        getattr(conn, name)("anything")
    refusal(sq)


@pytest.mark.parametrize(
    "action",
    [
        lambda conn: conn.cursor().executescript("SELECT 1"),
        lambda conn: setattr(conn, "row_factory", sqlite3.Row),
        lambda conn: setattr(conn.cursor(), "row_factory", sqlite3.Row),
        lambda conn: setattr(conn, "text_factory", bytes),
        lambda conn: conn.cursor(factory=Cursor),
    ],
)
def test_unsupported_features_are_refused(sq: Sqlite3Plugin, action: Callable[[Any], Any]) -> None:
    with pytest.raises(NotSupportedError, match="not supported by tripwire's sqlite3 fake"):
        action(fake(sq))
    refusal(sq)


def test_unknown_attributes_are_attribute_errors(sq: Sqlite3Plugin) -> None:
    conn = fake(sq)
    with pytest.raises(AttributeError, match=r"'sqlite3\.Connection' object has no attribute"):
        _ = conn.no_such_thing
    assert conn.Error is sqlite3.Error and conn.row_factory is None


def test_a_connection_subclass_is_not_modelled(sq: Sqlite3Plugin) -> None:
    with pytest.raises(NotSupportedError, match="factory="):
        sqlite3.connect(":memory:", factory=type("Custom", (sqlite3.Connection,), {}))
    refusal(sq)
    assert not sq.sessions  # refused before a session was taken


CONNECT_ERRORS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),
    ((":memory:",), {"bogus": 1}),
    ((":memory:", 5.0, 0, "", True, sqlite3.Connection, 128, False, 9), {}),
    ((":memory:",), {"database": ":memory:"}),
    ((":memory:",), {"isolation_level": "bogus"}),
    ((":memory:",), {"isolation_level": 1}),
    ((5,), {}),
    ((":memory:",), {"timeout": "soon"}),
    ((":memory:",), {"autocommit": True}),
]


@pytest.mark.parametrize(("args", "kwargs"), CONNECT_ERRORS)
def test_connect_rejects_arguments_like_sqlite3(
    sq: Sqlite3Plugin, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    expected = outcome(lambda: REAL_CONNECT(*args, **kwargs))
    assert outcome(lambda: sqlite3.connect(*args, **kwargs)) == expected


# Interception


def test_connect_without_a_queued_session_is_refused(sq: Sqlite3Plugin) -> None:
    with pytest.raises(UnmockedInteractionError, match="no sqlite3 session is queued"):
        sqlite3.connect(":memory:")
    refusal(sq)


def test_the_sandbox_patches_connect_and_restores_the_builtin() -> None:
    verifier = StrictVerifier()
    Sqlite3Plugin(verifier)
    with pytest.raises(KeyError), verifier.sandbox():
        assert sqlite3.connect is not REAL_CONNECT
        assert sqlite3.dbapi2.connect is sqlite3.connect
        raise KeyError("the sandbox closes on an exception too")
    assert sqlite3.connect is REAL_CONNECT and sqlite3.dbapi2.connect is REAL_CONNECT
    assert type(sqlite3.connect).__name__ == "builtin_function_or_method"


def test_a_name_imported_before_the_sandbox_is_not_intercepted(sq: Sqlite3Plugin) -> None:
    # Documented limit: REAL_CONNECT is what `from sqlite3 import connect` binds.
    connection = REAL_CONNECT(":memory:")
    assert isinstance(connection, sqlite3.Connection) and sqlite3.connect is not REAL_CONNECT
    connection.close()


# End to end, the way a user writes it

USER_TEST = """
import sqlite3

import tripwire


def add_user(name):
    conn = sqlite3.connect("app.db")
    with conn:
        conn.execute("INSERT INTO users (name) VALUES (?)", (name,))
    conn.close()


def test_add_user():
    (tripwire.sqlite3.new_session()
        .expect("connect", returns=None)
        .expect("execute", returns=[])
        .expect("commit", returns=None)
        .expect("close", returns=None))
    with tripwire:
        add_user("Alice")
    tripwire.sqlite3.assert_connect(database="app.db")
    tripwire.sqlite3.assert_execute(
        sql="INSERT INTO users (name) VALUES (?)", parameters=["Alice"]
    )
    tripwire.sqlite3.assert_commit()
    ASSERT_CLOSE
"""


@pytest.mark.parametrize(
    ("assert_close", "outcomes"),
    [("tripwire.sqlite3.assert_close()", {"passed": 1}), ("pass", {"passed": 1, "errors": 1})],
)
def test_end_to_end_through_pytest(
    pytester: pytest.Pytester, assert_close: str, outcomes: dict[str, int]
) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    pytester.makepyfile(test_users=USER_TEST.replace("ASSERT_CLOSE", assert_close))
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(**outcomes)
    if "errors" in outcomes:
        result.stdout.fnmatch_lines(["*UnassertedInteractionsError*", "*assert_close()*"])
