"""asyncpg transactions: steps, states, misuse errors, leftovers, and the real server.

The last section runs the same sequences against a real PostgreSQL and the
fake, and compares what the code under test observes.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import asyncpg
import asyncpg.transaction
import pytest

from tripwire import (
    ClientCheckError,
    InvalidStateError,
    LeakedResourcesError,
    MissingAssertionFieldsError,
    SandboxClosedError,
    StrictVerifier,
)
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin
from tripwire_drivers.asyncpg import Connection
from tripwire_drivers.asyncpg._control import _classify
from tripwire_drivers.asyncpg.transaction import Transaction

Script = list[tuple[str, Any]]
Body = Callable[[Any], Awaitable[Any]]
FAILED = "current transaction is aborted, commands ignored until end of transaction block"


async def connect(apg: AsyncpgPlugin, *script: tuple[str, Any]) -> Any:
    """A fake connection whose session scripts *script*: (step, returns or an exception)."""
    session = apg.new_session().expect("connect", returns=None)
    for step, outcome in script:
        if isinstance(outcome, BaseException):
            session.expect(step, raises=outcome)
        else:
            session.expect(step, returns=outcome)
    return await asyncpg.connect()


def steps(verifier: StrictVerifier) -> list[tuple[str, dict[str, Any]]]:
    """The recorded interactions after connect, as (step, fields)."""
    return [(i.step, dict(i.fields)) for i in verifier.timeline][1:]


def assert_all(verifier: StrictVerifier, apg: AsyncpgPlugin) -> None:
    """Assert every interaction as recorded (the recording itself is under test)."""
    apg.assert_connect()
    for step, fields in steps(verifier):
        apg.assert_step(step, **fields)


# Shape: the fake has asyncpg's signatures, sync/async split, repr and class.


def parameters(function: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize("name", ["transaction", "is_in_transaction"])
def test_connection_methods_have_asyncpgs_signatures(name: str) -> None:
    fake, real = getattr(Connection, name), getattr(asyncpg.Connection, name)
    assert parameters(fake) == parameters(real)
    assert not inspect.iscoroutinefunction(fake) and not inspect.iscoroutinefunction(real)


@pytest.mark.parametrize("name", ["start", "commit", "rollback", "__aenter__", "__aexit__"])
def test_transaction_methods_have_asyncpgs_shape(name: str) -> None:
    fake = getattr(Transaction, name)
    real = getattr(asyncpg.transaction.Transaction, name)
    assert parameters(fake) == parameters(real)
    assert inspect.iscoroutinefunction(fake) == inspect.iscoroutinefunction(real)


def test_every_public_method_of_asyncpgs_transaction_is_faked() -> None:
    # Inherited asyncpg code would reach for the real protocol.
    public = {
        name
        for name in dir(asyncpg.transaction.Transaction)
        if callable(getattr(asyncpg.transaction.Transaction, name))
        and (not name.startswith("_") or name in ("__aenter__", "__aexit__", "__repr__"))
    }
    assert public <= set(vars(Transaction))


def real_transaction(*args: Any) -> Any:
    """asyncpg's own Transaction on a stand-in connection (no server needed)."""
    return asyncpg.transaction.Transaction(SimpleNamespace(_pool_release_ctr=0), *args)


async def test_transaction_object_matches_asyncpgs(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(apg)
    for options in [{}, {"isolation": "serializable", "readonly": True, "deferrable": True}]:
        fake = conn.transaction(**options)
        real = real_transaction(options.get("isolation"), bool(options), bool(options))
        assert isinstance(fake, asyncpg.transaction.Transaction)
        assert repr(fake).rsplit(" ", 1)[0] == repr(real).rsplit(" ", 1)[0]
    assert repr(conn.transaction(isolation="read_committed")).startswith(
        "<asyncpg.Transaction state:new read_committed 0x"
    )
    apg.assert_connect()
    sandbox.verify_all()


async def test_transaction_arguments_are_checked_like_asyncpg(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(apg)
    with pytest.raises(TypeError) as positional:
        conn.transaction("serializable")
    assert str(positional.value) == (
        "Connection.transaction() takes 1 positional argument but 2 were given"
    )
    with pytest.raises(TypeError, match=r"^Connection.transaction\(\) got an unexpected keyword"):
        conn.transaction(level="serializable")
    with pytest.raises(ValueError) as fake:
        conn.transaction(isolation="snapshot")
    with pytest.raises(ValueError) as real:
        real_transaction("snapshot", False, False)
    assert str(fake.value) == str(real.value)
    conn.transaction(isolation="")  # falsy: accepted, as asyncpg accepts it
    apg.assert_connect()
    sandbox.verify_all()


# Happy paths, as tables: (script, code, recorded steps after connect).


async def commit_block(conn: Any) -> None:
    async with conn.transaction():
        await conn.execute("INSERT INTO t VALUES (1)")


async def raising_block(conn: Any) -> None:
    with pytest.raises(ValueError, match="boom"):
        async with conn.transaction() as bound:
            assert bound is None
            raise ValueError("boom")


async def nested_commit(conn: Any) -> None:
    async with conn.transaction(), conn.transaction():
        pass


async def nested_rollback(conn: Any) -> None:
    async with conn.transaction():
        with pytest.raises(KeyError):
            async with conn.transaction():
                raise KeyError("inner")
        async with conn.transaction():
            pass


async def nested_manual(conn: Any) -> None:
    outer, inner = conn.transaction(), conn.transaction(readonly=True)
    await outer.start()
    await inner.start()  # readonly is ignored in a nested block, as by asyncpg
    await inner.rollback()
    await outer.commit()


async def manual_commit(conn: Any) -> None:
    transaction = conn.transaction()
    assert await transaction.start() is None
    assert await transaction.commit() is None
    assert repr(transaction).startswith("<asyncpg.Transaction state:committed 0x")


async def manual_rollback(conn: Any) -> None:
    transaction = conn.transaction()
    await transaction.start()
    await transaction.rollback()
    assert repr(transaction).startswith("<asyncpg.Transaction state:rolledback 0x")


HAPPY = {
    "async with commits": (
        [("begin", None), ("execute", "INSERT 0 1"), ("commit", None)],
        commit_block,
        [
            ("begin", {}),
            ("execute", {"query": "INSERT INTO t VALUES (1)", "args": []}),
            ("commit", {}),
        ],
    ),
    "an exception rolls back and is re-raised": (
        [("begin", None), ("rollback", None)],
        raising_block,
        [("begin", {}), ("rollback", {})],
    ),
    "nested blocks are savepoints": (
        [("begin", None), ("savepoint", None), ("release_savepoint", None), ("commit", None)],
        nested_commit,
        [("begin", {}), ("savepoint", {}), ("release_savepoint", {}), ("commit", {})],
    ),
    "a nested exception rolls back to the savepoint": (
        [
            ("begin", None),
            ("savepoint", None),
            ("rollback_to_savepoint", None),
            ("savepoint", None),
            ("release_savepoint", None),
            ("commit", None),
        ],
        nested_rollback,
        [
            ("begin", {}),
            ("savepoint", {}),
            ("rollback_to_savepoint", {}),
            ("savepoint", {}),
            ("release_savepoint", {}),
            ("commit", {}),
        ],
    ),
    "manual nesting": (
        [("begin", None), ("savepoint", None), ("rollback_to_savepoint", None), ("commit", None)],
        nested_manual,
        [("begin", {}), ("savepoint", {}), ("rollback_to_savepoint", {}), ("commit", {})],
    ),
    "manual start and commit": (
        [("begin", None), ("commit", None)],
        manual_commit,
        [("begin", {}), ("commit", {})],
    ),
    "manual start and rollback": (
        [("begin", None), ("rollback", None)],
        manual_rollback,
        [("begin", {}), ("rollback", {})],
    ),
}


@pytest.mark.parametrize(("script", "code", "recorded"), HAPPY.values(), ids=HAPPY.keys())
async def test_transactions_run_their_steps(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, script: Script, code: Body, recorded: Script
) -> None:
    conn = await connect(apg, *script)
    await code(conn)
    assert not conn.is_in_transaction()
    assert steps(sandbox) == recorded
    assert_all(sandbox, apg)
    sandbox.verify_all()


@pytest.mark.parametrize(
    ("options", "recorded"),
    [
        ({}, {}),
        ({"isolation": None, "readonly": False, "deferrable": False}, {}),
        ({"isolation": "serializable"}, {"isolation": "serializable"}),
        (
            {"isolation": "read_committed", "readonly": True},
            {"isolation": "read_committed", "readonly": True},
        ),
        ({"readonly": True, "deferrable": True}, {"readonly": True, "deferrable": True}),
        (
            {"isolation": "repeatable_read", "deferrable": True},
            {"isolation": "repeatable_read", "deferrable": True},
        ),
    ],
)
async def test_begin_records_the_options_given(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, options: dict[str, Any], recorded: dict[str, Any]
) -> None:
    conn = await connect(apg, ("begin", None), ("commit", None))
    async with conn.transaction(**options):
        pass
    apg.assert_connect()
    apg.assert_begin(**recorded)
    apg.assert_commit()
    sandbox.verify_all()


async def test_an_option_left_out_of_assert_begin_fails(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(apg, ("begin", None), ("commit", None))
    async with conn.transaction(isolation="serializable"):
        pass
    apg.assert_connect()
    with pytest.raises(MissingAssertionFieldsError, match="leaves out isolation"):
        apg.assert_begin()
    apg.assert_begin(isolation="serializable")
    apg.assert_commit()


async def test_with_the_pytest_plugin(tripwire_verifier: StrictVerifier) -> None:
    import tripwire

    (
        tripwire.asyncpg.new_session()
        .expect("connect", returns=None)
        .expect("begin", returns=None)
        .expect("execute", returns="UPDATE 1")
        .expect("commit", returns=None)
    )
    with tripwire:
        conn = await asyncpg.connect()
        async with conn.transaction(isolation="repeatable_read"):
            await conn.execute("UPDATE t SET x = 1")
    tripwire.asyncpg.assert_connect()
    tripwire.asyncpg.assert_begin(isolation="repeatable_read")
    tripwire.asyncpg.assert_execute(query="UPDATE t SET x = 1", args=[])
    tripwire.asyncpg.assert_commit()


# Nested isolation levels.


async def test_nested_isolation_must_match_the_outer_level(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(
        apg, ("begin", None), ("savepoint", None), ("release_savepoint", None), ("rollback", None)
    )
    with pytest.raises(ClientCheckError) as caught:
        async with conn.transaction(isolation="serializable"):
            async with conn.transaction(isolation="serializable"):
                pass
            async with conn.transaction(isolation="read_committed"):
                pass
    assert str(caught.value) == (
        "nested transaction has a different isolation level: "
        "current 'read_committed' != outer 'serializable'"
    )
    assert sandbox.acknowledge_refusals() == [caught.value]
    apg.assert_connect()
    apg.assert_begin(isolation="serializable")
    apg.assert_savepoint()
    apg.assert_release_savepoint()
    apg.assert_rollback()
    sandbox.verify_all()


async def test_an_unspecified_outer_level_is_asked_of_the_server(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(
        apg,
        ("begin", None),
        ("fetchval", "read committed"),
        ("savepoint", None),
        ("release_savepoint", None),
        ("fetchval", "read committed"),
        ("rollback", None),
    )
    with pytest.raises(ClientCheckError) as caught:
        async with conn.transaction():
            async with conn.transaction(isolation="read_committed"):
                pass
            async with conn.transaction(isolation="serializable"):
                pass
    assert "current 'serializable' != outer 'read_committed'" in str(caught.value)
    sandbox.acknowledge_refusals()
    show = {"query": "SHOW transaction_isolation;", "args": []}
    assert steps(sandbox) == [
        ("begin", {}),
        ("fetchval", show),
        ("savepoint", {}),
        ("release_savepoint", {}),
        ("fetchval", show),
        ("rollback", {}),
    ]


# Misuse: asyncpg's InterfaceError texts, raised as refusals.


async def twice(conn: Any, first: str, second: str) -> None:
    transaction = conn.transaction()
    await transaction.start()
    await getattr(transaction, first)()
    await getattr(transaction, second)()


async def start_twice(conn: Any) -> None:
    transaction = conn.transaction()
    await transaction.start()
    try:
        await transaction.start()
    finally:
        await transaction.commit()


async def reenter(conn: Any) -> None:
    transaction = conn.transaction()
    async with transaction:
        pass
    async with transaction:
        pass


async def manual_inside_block(conn: Any, operation: str) -> None:
    transaction = conn.transaction()
    async with transaction:
        await getattr(transaction, operation)()


async def enter_twice(conn: Any) -> None:
    transaction = conn.transaction()
    async with transaction, transaction:
        pass


async def after_manual_begin(conn: Any) -> None:
    await conn.execute("BEGIN")
    try:
        await conn.transaction().start()
    finally:
        await conn.execute("ROLLBACK")


async def after_failed_begin(conn: Any) -> None:
    transaction = conn.transaction()
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        await transaction.start()
    await transaction.commit()


MISUSE = {
    "commit before start": (
        [],
        lambda conn: conn.transaction().commit(),
        "cannot commit; the transaction is not yet started",
    ),
    "rollback before start": (
        [],
        lambda conn: conn.transaction().rollback(),
        "cannot rollback; the transaction is not yet started",
    ),
    "start twice": (
        [("begin", None), ("commit", None)],
        start_twice,
        "cannot start; the transaction is already started",
    ),
    "commit twice": (
        [("begin", None), ("commit", None)],
        lambda conn: twice(conn, "commit", "commit"),
        "cannot commit; the transaction is already committed",
    ),
    "rollback after commit": (
        [("begin", None), ("commit", None)],
        lambda conn: twice(conn, "commit", "rollback"),
        "cannot rollback; the transaction is already committed",
    ),
    "start after commit": (
        [("begin", None), ("commit", None)],
        lambda conn: twice(conn, "commit", "start"),
        "cannot start; the transaction is already committed",
    ),
    "commit after rollback": (
        [("begin", None), ("rollback", None)],
        lambda conn: twice(conn, "rollback", "commit"),
        "cannot commit; the transaction is already rolled back",
    ),
    "rollback after rollback": (
        [("begin", None), ("rollback", None)],
        lambda conn: twice(conn, "rollback", "rollback"),
        "cannot rollback; the transaction is already rolled back",
    ),
    "start after rollback": (
        [("begin", None), ("rollback", None)],
        lambda conn: twice(conn, "rollback", "start"),
        "cannot start; the transaction is already rolled back",
    ),
    "re-entering a used transaction": (
        [("begin", None), ("commit", None)],
        reenter,
        "cannot start; the transaction is already committed",
    ),
    "manual commit inside async with": (
        [("begin", None), ("rollback", None)],
        lambda conn: manual_inside_block(conn, "commit"),
        "cannot manually commit from within an `async with` block",
    ),
    "manual rollback inside async with": (
        [("begin", None), ("rollback", None)],
        lambda conn: manual_inside_block(conn, "rollback"),
        "cannot manually rollback from within an `async with` block",
    ),
    "nested async with on the same object": (
        [("begin", None), ("rollback", None)],
        enter_twice,
        "cannot enter context: already in an `async with` block",
    ),
    "Connection.transaction() after a manual BEGIN": (
        [("execute", "BEGIN"), ("execute", "ROLLBACK")],
        after_manual_begin,
        "cannot use Connection.transaction() in a manually started transaction",
    ),
    "a transaction whose BEGIN failed": (
        [("begin", asyncpg.ConnectionDoesNotExistError("connection was closed"))],
        after_failed_begin,
        "cannot commit; the transaction is in error state",
    ),
}


@pytest.mark.parametrize(("script", "code", "message"), MISUSE.values(), ids=MISUSE.keys())
async def test_misuse_raises_asyncpgs_error_as_a_refusal(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, script: Script, code: Body, message: str
) -> None:
    conn = await connect(apg, *script)
    with pytest.raises(asyncpg.InterfaceError) as caught:
        await code(conn)
    assert str(caught.value) == message
    assert isinstance(caught.value, ClientCheckError)
    assert caught.value.explanation  # tripwire's note says why and what to do
    # Swallowing it would fail the test: it is recorded.
    assert sandbox.acknowledge_refusals() == [caught.value]
    assert not conn.is_in_transaction()
    assert_all(sandbox, apg)
    sandbox.verify_all()


async def test_a_failed_begin_leaves_asyncpgs_top_transaction_behind(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    # asyncpg sets Connection._top_xact before BEGIN and keeps it when BEGIN
    # fails, so the next transaction is taken for a nested one.
    conn = await connect(apg, ("begin", asyncpg.ConnectionDoesNotExistError("lost")))
    with pytest.raises(asyncpg.ConnectionDoesNotExistError):
        await conn.transaction().start()
    with pytest.raises(asyncpg.NoActiveSQLTransactionError) as caught:
        await conn.transaction().start()
    assert str(caught.value) == "SAVEPOINT can only be used in transaction blocks"
    assert sandbox.acknowledge_refusals() == [caught.value]


CLOSED = "the underlying connection is closed"


async def test_a_closed_connection_refuses_at_call_time(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(apg, ("begin", None), ("close", None))
    transaction, unused = conn.transaction(), conn.transaction()
    await transaction.start()
    await conn.close()
    refused = []
    for name in ["start", "commit", "rollback"]:
        method = getattr(transaction if name != "start" else unused, name)
        with pytest.raises(InvalidStateError) as caught:
            method()  # raised when called, before any await
        refused.append(caught.value)
        assert str(caught.value) == f"cannot call Transaction.{name}(): {CLOSED}"
        assert isinstance(caught.value, asyncpg.InterfaceError)
    with pytest.raises(InvalidStateError) as caught:
        conn.transaction()
    refused.append(caught.value)
    assert str(caught.value) == "connection is closed"
    assert isinstance(caught.value, asyncpg.InterfaceError)
    assert sandbox.acknowledge_refusals() == refused
    # Closed mid-transaction: asyncpg reports the last status it saw.
    assert conn.is_in_transaction()


@pytest.mark.parametrize("error", [None, ValueError("inner")])
async def test_exiting_a_block_after_close_raises(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, error: Exception | None
) -> None:
    conn = await connect(apg, ("begin", None), ("close", None))
    with pytest.raises(InvalidStateError) as caught:
        async with conn.transaction():
            await conn.close()
            if error is not None:
                raise error
    assert str(caught.value) == f"cannot call Transaction.__aexit__(): {CLOSED}"
    assert caught.value.__context__ is error
    sandbox.acknowledge_refusals()
    assert_all(sandbox, apg)
    sandbox.verify_all()  # the block's exit reported it: not also a leftover


async def test_generator_exit_after_close_is_left_to_the_pool(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(apg, ("begin", None), ("close", None))
    transaction = conn.transaction()
    await transaction.__aenter__()
    await conn.close()
    assert await transaction.__aexit__(GeneratorExit, GeneratorExit(), None) is None
    assert_all(sandbox, apg)
    sandbox.verify_all()


async def test_a_transaction_outlives_its_sandbox_only_to_be_refused(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    async with verifier.sandbox():
        conn = await connect(apg, ("begin", None))
        transaction = conn.transaction()
        await transaction.start()
    with pytest.raises(SandboxClosedError):
        transaction.commit()
    with pytest.raises(SandboxClosedError):
        conn.transaction()
    assert len(verifier.acknowledge_refusals()) == 2


# Failed transactions.


async def test_a_server_error_fails_the_transaction_until_rollback(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(
        apg,
        ("begin", None),
        ("execute", asyncpg.UniqueViolationError("duplicate key")),
        ("rollback", None),
    )
    with pytest.raises(asyncpg.UniqueViolationError):
        async with conn.transaction():
            await conn.execute("INSERT INTO t VALUES (1)")
    assert not conn.is_in_transaction()
    apg.assert_connect()
    apg.assert_begin()
    apg.assert_execute(query="INSERT INTO t VALUES (1)", args=[])
    apg.assert_rollback()
    sandbox.verify_all()


async def test_queries_in_a_failed_transaction_are_refused(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(
        apg, ("begin", None), ("fetchval", asyncpg.DivisionByZeroError("x")), ("rollback", None)
    )
    transaction = conn.transaction()
    await transaction.start()
    with pytest.raises(asyncpg.DivisionByZeroError):
        await conn.fetchval("SELECT 1/0")
    assert conn.is_in_transaction()
    refused = []
    for call in (
        lambda: conn.fetch("SELECT 1"),
        lambda: conn.transaction().start(),  # SAVEPOINT
    ):
        with pytest.raises(asyncpg.InFailedSQLTransactionError) as caught:
            await call()
        assert str(caught.value) == FAILED
        refused.append(caught.value)
    assert sandbox.acknowledge_refusals() == refused
    await transaction.rollback()
    assert not conn.is_in_transaction()
    assert_all(sandbox, apg)
    sandbox.verify_all()


async def test_commit_of_a_failed_transaction_is_a_rollback_the_test_must_assert(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(
        apg, ("begin", None), ("execute", asyncpg.CheckViolationError("x")), ("commit", None)
    )
    # The code swallows the error inside the block; asyncpg commits, and
    # PostgreSQL answers ROLLBACK: nothing was saved.
    async with conn.transaction():
        with contextlib.suppress(asyncpg.CheckViolationError):
            await conn.execute("UPDATE accounts SET balance = -1")
    assert not conn.is_in_transaction()
    apg.assert_connect()
    apg.assert_begin()
    apg.assert_execute(query="UPDATE accounts SET balance = -1", args=[])
    with pytest.raises(MissingAssertionFieldsError, match="rolled_back"):
        apg.assert_commit()
    apg.assert_commit(rolled_back=True)
    sandbox.verify_all()


async def test_a_nested_failure_is_undone_by_its_savepoint(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(
        apg,
        ("begin", None),
        ("savepoint", None),
        ("execute", asyncpg.UniqueViolationError("dup")),
        ("rollback_to_savepoint", None),
        ("execute", "INSERT 0 1"),
        ("commit", None),
    )
    async with conn.transaction():
        try:
            async with conn.transaction():
                await conn.execute("INSERT INTO t VALUES (1)")
        except asyncpg.UniqueViolationError:
            assert conn.is_in_transaction()
        await conn.execute("INSERT INTO log VALUES ('dup')")
    assert steps(sandbox)[-1] == ("commit", {})  # not rolled back: the savepoint undid it
    assert_all(sandbox, apg)
    sandbox.verify_all()


async def test_releasing_a_savepoint_of_a_failed_transaction_is_refused(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(
        apg,
        ("begin", None),
        ("savepoint", None),
        ("execute", asyncpg.UniqueViolationError("dup")),
        ("rollback", None),
    )
    with pytest.raises(asyncpg.InFailedSQLTransactionError) as caught:
        async with conn.transaction(), conn.transaction():
            with contextlib.suppress(asyncpg.UniqueViolationError):
                await conn.execute("INSERT INTO t VALUES (1)")
            # The inner block exits cleanly: RELEASE SAVEPOINT.
    assert str(caught.value) == FAILED
    assert sandbox.acknowledge_refusals() == [caught.value]
    assert_all(sandbox, apg)
    sandbox.verify_all()


async def test_a_commit_the_server_rejects_still_ends_the_transaction(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(
        apg, ("begin", None), ("commit", asyncpg.SerializationError("could not serialize"))
    )
    transaction = conn.transaction(isolation="serializable")
    with pytest.raises(asyncpg.SerializationError):
        async with transaction:
            pass
    assert not conn.is_in_transaction()
    assert repr(transaction).startswith("<asyncpg.Transaction state:failed serializable")
    assert_all(sandbox, apg)
    sandbox.verify_all()


async def test_a_rollback_that_fails_leaves_the_transaction_in_error_state(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(
        apg, ("begin", None), ("rollback", TimeoutError()), ("execute", "ROLLBACK")
    )
    transaction = conn.transaction()
    await transaction.start()
    with pytest.raises(TimeoutError):
        await transaction.rollback()
    assert conn.is_in_transaction()
    with pytest.raises(ClientCheckError) as again:
        await transaction.rollback()
    # asyncpg no longer counts it as its transaction: a new one meets a "manual" one.
    with pytest.raises(ClientCheckError) as new:
        await conn.transaction().start()
    assert [str(again.value), str(new.value)] == [
        "cannot rollback; the transaction is in error state",
        "cannot use Connection.transaction() in a manually started transaction",
    ]
    assert len(sandbox.acknowledge_refusals()) == 2
    await conn.execute("ROLLBACK")
    assert not conn.is_in_transaction()
    assert_all(sandbox, apg)
    sandbox.verify_all()


# is_in_transaction() and statements sent through execute().


async def test_is_in_transaction_follows_the_state(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(
        apg,
        ("begin", None),
        ("execute", asyncpg.DataError("bad")),
        ("rollback", None),
        ("release", None),
    )
    seen = [conn.is_in_transaction()]
    transaction = conn.transaction()
    await transaction.start()
    seen.append(conn.is_in_transaction())
    with pytest.raises(asyncpg.DataError):
        await conn.execute("INSERT INTO t VALUES ('x')")
    seen.append(conn.is_in_transaction())
    await transaction.rollback()
    seen.append(conn.is_in_transaction())
    assert seen == [False, True, True, False]
    # What a pool's release does to the session; then asyncpg's proxy refuses.
    conn._session.call("release", {})
    with pytest.raises(InvalidStateError) as caught:
        conn.is_in_transaction()
    assert str(caught.value) == (
        "cannot call Connection.is_in_transaction(): connection has been released back to the pool"
    )
    sandbox.acknowledge_refusals()
    assert_all(sandbox, apg)
    sandbox.verify_all()


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("BEGIN", "begin"),
        ("begin;", "begin"),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE", "begin"),
        ("  -- why\n/* outer /* nested */ still */\tStart Transaction READ ONLY", "begin"),
        ("START TRANSACTION;", "begin"),
        ("BEGIN; INSERT INTO t VALUES (1)", "begin"),  # judged by its first statement
        ("COMMIT", "end"),
        ("commit work;", "end"),
        ("END", "end"),
        ("ROLLBACK", "end"),
        ("ABORT TRANSACTION", "end"),
        ("COMMIT AND NO CHAIN", "end"),
        ("PREPARE TRANSACTION 'p1'", "end"),
        ("ROLLBACK TO SAVEPOINT s", "resume"),
        ("ROLLBACK WORK TO s", "resume"),
        ("COMMIT AND CHAIN", "resume"),
        ("rollback and chain", "resume"),
        ("COMMIT PREPARED 'p1'", None),
        ("ROLLBACK PREPARED 'p1'", None),
        ("PREPARE q AS SELECT 1", None),
        ("SAVEPOINT s", None),
        ("RELEASE SAVEPOINT s", None),
        ("SELECT 'BEGIN'", None),
        ("-- BEGIN\nSELECT 1", None),
        ("BEGINNING", None),
        ("", None),
        ("/* unterminated", None),
    ],
)
def test_transaction_statements_are_recognised_by_their_leading_words(
    query: str, kind: str | None
) -> None:
    assert _classify(query) == kind


@pytest.mark.parametrize(
    ("statements", "in_transaction"),
    [
        (["BEGIN", "COMMIT"], [True, False]),
        (["begin;", "rollback;"], [True, False]),
        (["START TRANSACTION", "BEGIN", "END"], [True, True, False]),  # BEGIN inside: a warning
        (["COMMIT", "ROLLBACK"], [False, False]),  # nothing to end: a warning
        (
            ["BEGIN", "SAVEPOINT s", "ROLLBACK TO SAVEPOINT s", "COMMIT AND CHAIN", "ABORT"],
            [True, True, True, True, False],
        ),
        (["SELECT 1", "BEGIN; SELECT 1", "ROLLBACK"], [False, True, False]),
    ],
)
async def test_transaction_statements_sent_with_execute_move_the_state(
    sandbox: StrictVerifier,
    apg: AsyncpgPlugin,
    statements: list[str],
    in_transaction: list[bool],
) -> None:
    conn = await connect(apg, *[("execute", "OK") for _ in statements])
    seen = []
    for statement in statements:
        await conn.execute(statement)
        seen.append(conn.is_in_transaction())
    assert seen == in_transaction
    assert_all(sandbox, apg)
    sandbox.verify_all()


async def test_a_statement_that_fails_moves_nothing(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(
        apg,
        ("execute", asyncpg.PostgresError("no")),
        ("execute", "BEGIN"),
        ("execute", asyncpg.InterfaceError("no")),
        ("execute", "COMMIT"),
    )
    with pytest.raises(asyncpg.PostgresError):
        await conn.execute("BEGIN")
    assert not conn.is_in_transaction()
    await conn.execute("BEGIN")
    with pytest.raises(asyncpg.InterfaceError):
        await conn.execute("COMMIT")
    assert conn.is_in_transaction()
    await conn.execute("COMMIT")
    assert not conn.is_in_transaction()
    assert_all(sandbox, apg)
    sandbox.verify_all()


async def test_in_a_failed_transaction_only_ending_it_gets_through(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    # The check Connection.execute runs first in failed_transaction.
    conn = await connect(
        apg, ("begin", None), ("execute", asyncpg.DataError("x")), ("rollback", None)
    )
    transaction = conn.transaction()
    await transaction.start()
    with pytest.raises(asyncpg.DataError):
        await conn.execute("SELECT 'x'::int")
    for query in ["ROLLBACK", "COMMIT", "end;", "ROLLBACK TO SAVEPOINT s", "ABORT"]:
        conn._execute_in_failed_transaction(query, ())
    refused = []
    for query, args in [("SELECT 1", ()), ("BEGIN", ()), ("ROLLBACK", (1,)), (b"ROLLBACK", ())]:
        with pytest.raises(InvalidStateError) as caught:
            conn._execute_in_failed_transaction(query, args)
        assert str(caught.value) == FAILED
        assert isinstance(caught.value, asyncpg.InFailedSQLTransactionError)
        refused.append(caught.value)
    assert sandbox.acknowledge_refusals() == refused
    await transaction.rollback()
    assert_all(sandbox, apg)
    sandbox.verify_all()


@pytest.mark.parametrize(
    ("ending", "status", "in_transaction"),
    [
        ("ROLLBACK", "ROLLBACK", False),
        ("COMMIT", "ROLLBACK", False),
        ("ROLLBACK TO s", "ROLLBACK", True),
    ],
)
async def test_a_manual_transaction_can_end_after_a_failure(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, ending: str, status: str, in_transaction: bool
) -> None:
    conn = await connect(
        apg,
        ("execute", "BEGIN"),
        ("execute", "SAVEPOINT"),
        ("execute", asyncpg.DataError("x")),
        ("execute", status),
        *([("execute", "ROLLBACK")] if in_transaction else []),
    )
    await conn.execute("BEGIN")
    await conn.execute("SAVEPOINT s")
    with pytest.raises(asyncpg.DataError):
        await conn.execute("SELECT 'x'::int")
    with pytest.raises(asyncpg.InFailedSQLTransactionError):
        await conn.execute("SELECT 1")
    sandbox.acknowledge_refusals()
    assert await conn.execute(ending) == status
    assert conn.is_in_transaction() is in_transaction
    if in_transaction:
        await conn.execute("ROLLBACK")
    assert_all(sandbox, apg)
    sandbox.verify_all()


# Leftovers: transactions the test leaves open.


async def leave_started(conn: Any) -> None:
    await conn.transaction().start()


async def leave_begun(conn: Any) -> None:
    await conn.execute("BEGIN")


async def leave_failed(conn: Any) -> None:
    await conn.transaction(isolation="serializable").start()
    with pytest.raises(asyncpg.DataError):
        await conn.execute("SELECT 'x'::int")


async def leave_nested(conn: Any) -> None:
    await conn.transaction().start()
    await conn.transaction().start()
    inner = conn.transaction()
    await inner.start()
    await inner.commit()


async def close_while_started(conn: Any) -> None:
    transaction = conn.transaction()
    await transaction.start()
    await conn.close()


async def close_while_begun(conn: Any) -> None:
    await conn.execute("START TRANSACTION")
    conn.terminate()


async def release_while_started(conn: Any) -> None:
    await conn.transaction().start()
    conn._session.call("release", {})  # what the pool's release does to the session


async def close_after_commit(conn: Any) -> None:
    async with conn.transaction():
        pass
    await conn.close()


LEFTOVERS = {
    "started and never ended": (
        [("begin", None)],
        leave_started,
        "asyncpg session #1: a transaction begun by conn.transaction() is still open "
        "(in_transaction) at the end of the test; commit or roll it back "
        "(`async with conn.transaction():` does it for you).",
    ),
    "a manual BEGIN never ended": (
        [("execute", "BEGIN")],
        leave_begun,
        "asyncpg session #1: a transaction begun by execute('BEGIN') is still open "
        "(in_transaction) at the end of the test; commit or roll it back "
        "(`async with conn.transaction():` does it for you).",
    ),
    "failed and never rolled back": (
        [("begin", None), ("execute", asyncpg.DataError("x"))],
        leave_failed,
        "asyncpg session #1: a transaction begun by conn.transaction() is still open "
        "(failed_transaction) at the end of the test; commit or roll it back "
        "(`async with conn.transaction():` does it for you).",
    ),
    "left open with a savepoint": (
        [("begin", None), ("savepoint", None), ("savepoint", None), ("release_savepoint", None)],
        leave_nested,
        "asyncpg session #1: a transaction begun by conn.transaction() is still open "
        "(in_transaction, 1 savepoint(s) deep) at the end of the test; commit or roll it back "
        "(`async with conn.transaction():` does it for you).",
    ),
    "closed while open": (
        [("begin", None), ("close", None)],
        close_while_started,
        "asyncpg session #1: the connection was closed while a transaction begun by "
        "conn.transaction() was open, so asyncpg rolled it back; commit or roll it back first.",
    ),
    "terminated while a manual transaction was open": (
        [("execute", "BEGIN"), ("terminate", None)],
        close_while_begun,
        "asyncpg session #1: the connection was closed while a transaction begun by "
        "execute('START TRANSACTION') was open, so asyncpg rolled it back; commit or roll it "
        "back first.",
    ),
    "released while open": (
        [("begin", None), ("release", None)],
        release_while_started,
        "asyncpg session #1: the connection was released to its pool while a transaction begun "
        "by conn.transaction() was open, so asyncpg rolled it back; commit or roll it back first.",
    ),
    "closed after commit": (
        [("begin", None), ("commit", None), ("close", None)],
        close_after_commit,
        None,
    ),
}


@pytest.mark.parametrize(("script", "code", "line"), LEFTOVERS.values(), ids=LEFTOVERS.keys())
async def test_transactions_left_open_fail_verification(
    sandbox: StrictVerifier, apg: AsyncpgPlugin, script: Script, code: Body, line: str | None
) -> None:
    conn = await connect(apg, *script)
    await code(conn)
    assert_all(sandbox, apg)
    if line is None:
        sandbox.verify_all()
        return
    with pytest.raises(LeakedResourcesError) as caught:
        sandbox.verify_all()
    assert str(caught.value) == f"1 resource was left open at the end of the test:\n  - {line}"


# The fake against a real PostgreSQL: the same sequence of calls, and what
# the code observes after each (result or error, is_in_transaction(), the
# Transaction's state) must be the same.

Op = tuple[Any, ...]


def driver_class(error: BaseException) -> type[BaseException]:
    """The class production code would catch: the first one that is not tripwire's."""
    return next(c for c in type(error).__mro__ if not c.__module__.startswith("tripwire"))


async def observe(conn: Any, ops: list[Op]) -> list[tuple[Any, ...]]:
    transactions: dict[str, Any] = {}
    seen = []
    for op in ops:
        kind, *rest = op
        try:
            result = await perform(conn, transactions, kind, *rest)
        except Exception as error:
            outcome: tuple[Any, ...] = ("raised", driver_class(error), str(error).split("\n")[0])
        else:
            outcome = ("returned", result)
        seen.append((op, outcome, conn.is_in_transaction()))
    return seen


async def perform(conn: Any, transactions: dict[str, Any], kind: str, *rest: Any) -> Any:
    if kind == "new":
        name, options = rest
        transactions[name] = conn.transaction(**options)
        return None
    if kind in ("execute", "fetchval"):
        return await getattr(conn, kind)(*rest)
    if kind == "close":
        return await conn.close()
    transaction = transactions[rest[0]]
    if kind == "state":
        return repr(transaction).split()[1]
    if kind == "enter":
        return await transaction.__aenter__()
    if kind == "exit":
        error = rest[1] if len(rest) > 1 else None
        return await transaction.__aexit__(type(error) if error else None, error, None)
    return await getattr(transaction, kind)()


def ops_of(*names: str) -> list[Op]:
    """Shorthand: "start a" -> ("start", "a")."""
    return [tuple(name.split(" ", 1)) for name in names]


DEFERRED = (
    "CREATE TEMP TABLE parent (id int PRIMARY KEY); CREATE TEMP TABLE child "
    "(parent_id int REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
)
FK_ERROR = asyncpg.ForeignKeyViolationError(
    'insert or update on table "child" violates foreign key constraint "child_parent_id_fkey"'
)
ZERO = asyncpg.DivisionByZeroError("division by zero")

SERVER_CASES: dict[str, tuple[list[Op], Script]] = {
    "async with commits": (
        [
            ("new", "a", {}),
            *ops_of("enter a"),
            ("execute", "SELECT 1"),
            *ops_of("exit a", "state a"),
        ],
        [("begin", None), ("execute", "SELECT 1"), ("commit", None)],
    ),
    "an exception rolls back": (
        [("new", "a", {}), *ops_of("enter a"), ("exit", "a", ValueError("x")), *ops_of("state a")],
        [("begin", None), ("rollback", None)],
    ),
    "nested blocks": (
        [
            ("new", "a", {}),
            ("new", "b", {"readonly": True}),
            ("new", "c", {}),
            *ops_of("enter a", "enter b", "exit b", "enter c"),
            ("exit", "c", KeyError("x")),
            *ops_of("exit a", "state b", "state c", "state a"),
        ],
        [
            ("begin", None),
            ("savepoint", None),
            ("release_savepoint", None),
            ("savepoint", None),
            ("rollback_to_savepoint", None),
            ("commit", None),
        ],
    ),
    "manual start, commit and rollback": (
        [
            ("new", "a", {}),
            ("new", "b", {}),
            *ops_of("start a", "commit a", "start b", "rollback b"),
        ],
        [("begin", None), ("commit", None), ("begin", None), ("rollback", None)],
    ),
    "options": (
        [
            ("new", "a", {"isolation": "serializable", "readonly": True, "deferrable": True}),
            *ops_of("state a", "start a"),
            ("fetchval", "SHOW transaction_isolation;"),
            ("fetchval", "SHOW transaction_read_only;"),
            *ops_of("commit a"),
        ],
        [
            ("begin", None),
            ("fetchval", "serializable"),
            ("fetchval", "on"),
            ("commit", None),
        ],
    ),
    "misuse of one transaction": (
        [
            ("new", "a", {}),
            ("new", "b", {}),
            *ops_of("commit a", "rollback a", "start a", "start a", "commit a", "commit a"),
            *ops_of("rollback a", "start a", "enter a", "start b", "rollback b", "commit b"),
            *ops_of("rollback b", "start b", "state a", "state b"),
        ],
        [("begin", None), ("commit", None), ("begin", None), ("rollback", None)],
    ),
    "misuse inside async with": (
        [
            ("new", "a", {}),
            ("new", "b", {}),
            *ops_of("enter a", "commit a", "rollback a", "enter a"),
            ("exit", "a", ValueError("x")),
            *ops_of("enter b", "exit b", "exit b", "state a", "state b"),
        ],
        [("begin", None), ("rollback", None), ("begin", None), ("commit", None)],
    ),
    "a manual BEGIN first": (
        [
            ("execute", "BEGIN"),
            ("new", "a", {}),
            ("new", "b", {}),
            *ops_of("start a", "enter b"),
            ("execute", "ROLLBACK"),
            *ops_of("start a", "commit a", "state b"),
        ],
        [("execute", "BEGIN"), ("execute", "ROLLBACK"), ("begin", None), ("commit", None)],
    ),
    "nested isolation levels": (
        [
            ("new", "a", {"isolation": "serializable"}),
            ("new", "b", {"isolation": "read_committed"}),
            ("new", "c", {"isolation": "serializable"}),
            *ops_of("start a", "start b", "state b", "start c", "commit c", "rollback a"),
        ],
        [("begin", None), ("savepoint", None), ("release_savepoint", None), ("rollback", None)],
    ),
    "nested isolation under an unspecified outer level": (
        [
            ("new", "a", {}),
            ("new", "b", {"isolation": "serializable"}),
            ("new", "c", {"isolation": "read_committed"}),
            *ops_of("start a", "start b", "start c", "commit c", "rollback a"),
        ],
        [
            ("begin", None),
            ("fetchval", "read committed"),
            ("fetchval", "read committed"),
            ("savepoint", None),
            ("release_savepoint", None),
            ("rollback", None),
        ],
    ),
    "a closed connection": (
        [
            ("new", "a", {}),
            ("new", "b", {}),
            *ops_of("start a", "close", "start b", "commit a", "rollback a", "exit a", "state a"),
            ("new", "c", {}),
        ],
        [("begin", None), ("close", None)],
    ),
    "a failed transaction": (
        [
            ("new", "a", {}),
            ("new", "b", {}),
            *ops_of("start a"),
            ("execute", "SELECT 1/0"),
            ("fetchval", "SELECT 1"),
            *ops_of("start b", "state b", "commit a", "state a"),
        ],
        [("begin", None), ("execute", ZERO), ("commit", None)],
    ),
    "a failure undone by a savepoint": (
        [
            ("new", "a", {}),
            ("new", "b", {}),
            *ops_of("start a", "start b"),
            ("execute", "SELECT 1/0"),
            *ops_of("rollback b"),
            ("execute", "SELECT 1"),
            *ops_of("commit a"),
        ],
        [
            ("begin", None),
            ("savepoint", None),
            ("execute", ZERO),
            ("rollback_to_savepoint", None),
            ("execute", "SELECT 1"),
            ("commit", None),
        ],
    ),
    "releasing the savepoint of a failed transaction": (
        [
            ("new", "a", {}),
            ("new", "b", {}),
            *ops_of("start a", "start b"),
            ("execute", "SELECT 1/0"),
            *ops_of("commit b", "state b", "rollback a"),
        ],
        [("begin", None), ("savepoint", None), ("execute", ZERO), ("rollback", None)],
    ),
    "a COMMIT the server rejects": (
        [
            ("execute", DEFERRED),
            ("new", "a", {}),
            *ops_of("start a"),
            ("execute", "INSERT INTO child VALUES (5)"),
            *ops_of("commit a", "state a"),
        ],
        [
            ("execute", "CREATE TABLE"),
            ("begin", None),
            ("execute", "INSERT 0 1"),
            ("commit", FK_ERROR),
        ],
    ),
    "statements sent through execute": (
        [
            ("execute", query)
            for query in [
                "BEGIN",
                "BEGIN",
                "COMMIT",
                "COMMIT",
                "/* why */ START TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                "SAVEPOINT s",
                "ROLLBACK TO SAVEPOINT s",
                "COMMIT AND CHAIN",
                "END",
                "begin; SELECT 1",
                "abort",
            ]
        ],
        [
            ("execute", status)
            for status in [
                "BEGIN",
                "BEGIN",
                "COMMIT",
                "COMMIT",
                "START TRANSACTION",
                "SAVEPOINT",
                "ROLLBACK",
                "COMMIT",
                "COMMIT",
                "SELECT 1",
                "ROLLBACK",
            ]
        ],
    ),
}

SERVER_CASES["statements sent through execute after a failure"] = (
    [
        ("execute", query)
        for query in [
            "BEGIN",
            "SAVEPOINT s",
            "SELECT 1/0",
            "SELECT 1",
            "ROLLBACK TO s",
            "SELECT 1/0",
            "COMMIT",
            "BEGIN",
            "SELECT 1/0",
            "ROLLBACK",
        ]
    ],
    [
        ("execute", "BEGIN"),
        ("execute", "SAVEPOINT"),
        ("execute", ZERO),
        ("execute", "ROLLBACK"),
        ("execute", ZERO),
        ("execute", "ROLLBACK"),
        ("execute", "BEGIN"),
        ("execute", ZERO),
        ("execute", "ROLLBACK"),
    ],
)


@pytest.mark.postgres
@pytest.mark.parametrize(("ops", "script"), SERVER_CASES.values(), ids=SERVER_CASES.keys())
async def test_the_fake_behaves_as_the_server(
    postgres_dsn: str, ops: list[Op], script: Script
) -> None:
    real_conn = await asyncpg.connect(postgres_dsn)
    try:
        real = await observe(real_conn, ops)
    finally:
        await real_conn.close()

    verifier = StrictVerifier()
    apg = AsyncpgPlugin(verifier)
    async with verifier.sandbox():
        fake_conn = await connect(apg, *script)
        fake = await observe(fake_conn, ops)
    assert fake == real
    assert not apg.sessions[0].script, "the fake did not use every scripted step"


async def test_after_terminate_is_in_transaction_fails_as_in_asyncpg(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    conn = await connect(apg, ("terminate", None))
    conn.terminate()
    with pytest.raises(AttributeError) as caught:
        conn.is_in_transaction()
    assert str(caught.value) == "'NoneType' object has no attribute 'is_in_transaction'"
    assert_all(sandbox, apg)
    sandbox.verify_all()
