"""asyncpg pools: create_pool, acquire and release, shortcuts, hooks, leftovers.

The pool is a session of its own (``new_pool()``); each acquire takes the
next connection session, whose script starts with ``acquire`` and ends
with ``release``.  The last tests compare the fake with a real pool.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable
from typing import Any
from unittest.mock import ANY

import asyncpg
import asyncpg.pool
import pytest
from asyncpg import create_pool as create_pool_imported_early

import tripwire_drivers.asyncpg.pool as pool_module
from tripwire import (
    ClientCheckError,
    InvalidStateError,
    LeakedResourcesError,
    NotSupportedError,
    SandboxClosedError,
    StepMismatchError,
    StrictVerifier,
    UnmockedInteractionError,
)
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin
from tripwire_drivers.asyncpg import ServerInfo
from tripwire_drivers.asyncpg.pool import Pool, PoolAcquireContext
from tripwire_drivers.asyncpg.pooled import PoolConnectionProxy

RELEASED = "cannot call Connection.{}(): connection has been released back to the pool"


def pool_script(apg: AsyncpgPlugin, *steps: tuple[str, Any], close: bool = True) -> None:
    """Queue a pool session: create_pool, *steps*, then close."""
    handle = apg.new_pool().expect("create_pool", returns=None)
    for step, returns in steps:
        handle.expect(step, returns=returns)
    if close:
        handle.expect("close", returns=None)


def acquire_script(apg: AsyncpgPlugin, *steps: tuple[str, Any], release: bool = True) -> None:
    """Queue a connection session for one acquire: acquire, *steps*, release."""
    handle = apg.new_session().expect("acquire", returns=None)
    for step, returns in steps:
        handle.expect(step, returns=returns)
    if release:
        handle.expect("release", returns=None)


async def error_of(call: Callable[[], Any]) -> BaseException:
    """What *call* raises, awaiting its result if it returns an awaitable."""
    try:
        result = call()
        if inspect.isawaitable(result):
            await result
    except Exception as error:
        return error
    raise AssertionError("it did not raise")


# Creating and initialising.


@pytest.mark.parametrize("form", ["await", "async with"])
async def test_create_pool_initialises_when_awaited_or_entered(
    verifier: StrictVerifier, apg: AsyncpgPlugin, form: str
) -> None:
    pool_script(apg, ("fetchval", 1))
    async with verifier.sandbox():
        if form == "await":
            pool = await asyncpg.create_pool("postgresql://app@db/shop", min_size=1, max_size=5)
            assert await pool.fetchval("SELECT 1") == 1
            await pool.close()
        else:
            pool = asyncpg.create_pool("postgresql://app@db/shop", min_size=1, max_size=5)
            async with pool:
                assert await pool.fetchval("SELECT 1") == 1
        assert pool.is_closing()
    apg.assert_create_pool(dsn="postgresql://app@db/shop", min_size=1, max_size=5)
    apg.assert_fetchval(query="SELECT 1", args=[])
    apg.assert_close()
    verifier.verify_all()


@pytest.mark.parametrize(
    "create_pool",
    [
        pytest.param(lambda *a, **k: asyncpg.create_pool(*a, **k), id="asyncpg.create_pool"),
        pytest.param(lambda *a, **k: asyncpg.pool.create_pool(*a, **k), id="asyncpg.pool"),
        pytest.param(create_pool_imported_early, id="from-import-before-the-sandbox"),
    ],
)
async def test_create_pool_is_intercepted_however_imported(
    verifier: StrictVerifier, apg: AsyncpgPlugin, create_pool: Callable[..., Any]
) -> None:
    pool_script(apg)
    async with verifier.sandbox():
        pool = await create_pool(dsn="postgresql://h/db", command_timeout=60)
        assert isinstance(pool, Pool)
        await pool.close()
    # Keyword arguments meant for connect() are recorded with the rest.
    apg.assert_create_pool(dsn="postgresql://h/db", command_timeout=60)
    apg.assert_close()
    verifier.verify_all()


async def test_nothing_is_taken_until_the_pool_initialises(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    async with verifier.sandbox():
        pool = asyncpg.create_pool(min_size=0)
        assert (pool.get_size(), pool.get_idle_size(), pool.is_closing()) == (0, 0, False)
        for use in (lambda: pool.fetch("SELECT 1"), pool.acquire, pool.close, pool.terminate):
            error = await error_of(use)
            assert isinstance(error, asyncpg.InterfaceError)
            assert str(error) == "pool is not initialized"
        # asyncpg only bumps a counter here, initialised or not.
        assert await pool.expire_connections() is None
    assert len(verifier.acknowledge_refusals(InvalidStateError)) == 4
    verifier.verify_all()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"max_size": 0}, ValueError("max_size is expected to be greater than zero")),
        ({"min_size": -1}, ValueError("min_size is expected to be greater or equal to zero")),
        ({"min_size": 5, "max_size": 2}, ValueError("min_size is greater than max_size")),
        ({"init_size": -1}, ValueError("init_size is expected to be greater or equal to zero")),
        ({"init_size": 11}, ValueError("init_size is greater than max_size")),
        ({"min_size": 3, "init_size": 2}, ValueError("init_size is smaller than min_size")),
        ({"max_queries": 0}, ValueError("max_queries is expected to be greater than zero")),
        (
            {"max_inactive_connection_lifetime": -1},
            ValueError(
                "max_inactive_connection_lifetime is expected to be greater or equal to zero"
            ),
        ),
        (
            {"connection_class": object},
            TypeError(
                "connection_class is expected to be a subclass of asyncpg.Connection, "
                "got <class 'object'>"
            ),
        ),
        (
            {"record_class": dict},
            TypeError(
                "record_class is expected to be a subclass of asyncpg.Record, got <class 'dict'>"
            ),
        ),
        ({"connection_class": 1}, TypeError("issubclass() arg 1 must be a class")),
        (
            {"max_size": "3"},
            TypeError("'<=' not supported between instances of 'str' and 'int'"),
        ),
    ],
)
async def test_create_pool_checks_its_arguments_like_asyncpg(
    verifier: StrictVerifier, apg: AsyncpgPlugin, kwargs: dict[str, Any], error: Exception
) -> None:
    if "init_size" in kwargs and not hasattr(asyncpg.pool.Pool, "get_init_size"):
        pytest.skip("init_size is new in asyncpg 0.32")
    async with verifier.sandbox():
        with pytest.raises(type(error)) as caught:
            asyncpg.create_pool(**kwargs)  # raised at once, not when awaited
    assert str(caught.value) == str(error)
    verifier.verify_all()


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("a", "b"), {}, "create_pool() takes from 0 to 1 positional arguments but 2 were given"),
        (("a",), {"dsn": "b"}, "create_pool() got multiple values for argument 'dsn'"),
    ],
)
async def test_create_pool_binds_its_signature_like_python(
    verifier: StrictVerifier,
    apg: AsyncpgPlugin,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    message: str,
) -> None:
    async with verifier.sandbox():
        with pytest.raises(TypeError) as caught:
            asyncpg.create_pool(*args, **kwargs)
    assert str(caught.value) == message


async def test_an_unknown_connect_keyword_fails_when_asyncpg_first_connects(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    apg.new_pool().expect("create_pool", returns=None)
    message = "connect() got an unexpected keyword argument 'comand_timeout'"
    async with verifier.sandbox():
        # With connections to open at once, initialising fails and closes the pool.
        eager = asyncpg.create_pool(min_size=1, comand_timeout=3)
        with pytest.raises(TypeError, match=re.escape(message)):
            await eager
        assert eager.is_closing()
        # With none, the pool initialises and the first acquire fails.
        lazy = await asyncpg.create_pool(min_size=0, comand_timeout=3)
        with pytest.raises(TypeError, match=re.escape(message)):
            await lazy.acquire()
    apg.assert_create_pool(min_size=0, comand_timeout=3)
    verifier.verify_all()


async def test_await_again_returns_the_pool_even_once_closed(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        assert await pool is pool
        await pool.close()
        assert await pool is pool
        await pool.close()  # a no-op, as is terminate()
        pool.terminate()
        for use in (lambda: pool.fetchval("SELECT 1"), pool.acquire):
            error = await error_of(use)
            assert isinstance(error, asyncpg.InterfaceError)
            assert str(error) == "pool is closed"
    assert len(verifier.acknowledge_refusals(InvalidStateError)) == 2
    apg.assert_create_pool()
    apg.assert_close()
    verifier.verify_all()


async def test_a_pool_whose_initialisation_failed_is_closed(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    apg.new_pool().expect("create_pool", raises=ConnectionRefusedError(111, "refused"))
    async with verifier.sandbox():
        pool = asyncpg.create_pool()
        with pytest.raises(ConnectionRefusedError):
            await pool
        error = await error_of(lambda: pool.fetch("SELECT 1"))
        await pool.close()  # closed already: nothing to do
    assert str(error) == "pool is closed"
    verifier.acknowledge_refusals()
    apg.assert_create_pool()
    verifier.verify_all()


async def test_without_a_pool_session_create_pool_is_refused(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    async with verifier.sandbox():
        pool = asyncpg.create_pool()
        with pytest.raises(UnmockedInteractionError, match=r"^asyncpg\.create_pool\(\) was called"):
            await pool
    assert len(verifier.acknowledge_refusals()) == 1


async def test_with_no_session_queued_the_refusal_shows_the_line_that_scripts_one(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    async with verifier.sandbox():
        with pytest.raises(UnmockedInteractionError) as no_pool:
            await asyncpg.create_pool()
        pool_script(apg)
        pool = await asyncpg.create_pool()
        with pytest.raises(UnmockedInteractionError) as no_connection:
            await pool.acquire()
        await pool.close()
    assert str(no_pool.value) == (
        "asyncpg.create_pool() was called, but no asyncpg session is queued (none scripted).\n"
        "Script one before the code runs: "
        'tripwire.asyncpg.new_pool().expect("create_pool", returns=None)'
    )
    assert str(no_connection.value) == (
        "asyncpg.Pool.acquire() was called, but no asyncpg session is queued (none scripted).\n"
        "Script one before the code runs: "
        'tripwire.asyncpg.new_session().expect("acquire", returns=None)'
    )
    assert len(verifier.acknowledge_refusals()) == 2
    apg.assert_create_pool()
    apg.assert_close()
    verifier.verify_all()


# Acquire and release.


@pytest.mark.parametrize("form", ["await", "async with"])
async def test_acquire_takes_the_next_connection_session(
    verifier: StrictVerifier, apg: AsyncpgPlugin, form: str
) -> None:
    pool_script(apg)
    acquire_script(apg, ("fetchrow", {"id": 7}))
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        if form == "await":
            conn = await pool.acquire(timeout=5)
            row = await conn.fetchrow("SELECT id FROM users WHERE id = $1", 7)
            await pool.release(conn)
        else:
            async with pool.acquire(timeout=5) as conn:
                row = await conn.fetchrow("SELECT id FROM users WHERE id = $1", 7)
        await pool.close()
    assert row == {"id": 7}
    assert isinstance(conn, asyncpg.Connection)
    apg.assert_create_pool()
    apg.assert_acquire(timeout=5)
    apg.assert_fetchrow(query="SELECT id FROM users WHERE id = $1", args=[7])
    apg.assert_release()
    apg.assert_close()
    verifier.verify_all()


async def test_a_session_scripted_for_connect_does_not_fit_an_acquire(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg, close=False)
    apg.new_session().expect("connect", returns=None)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        with pytest.raises(StepMismatchError) as caught:
            await pool.acquire()
    assert str(caught.value).startswith(
        "asyncpg session #2: expected step 1 of 1: connect, got acquire()."
    )
    verifier.acknowledge_refusals()


async def test_acquire_may_script_the_server(verifier: StrictVerifier, apg: AsyncpgPlugin) -> None:
    pool_script(apg, close=False)
    apg.new_session().expect("acquire", returns=ServerInfo(version=(15, 2))).expect(
        "release", returns=None
    )
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        async with pool.acquire() as conn:
            assert conn.get_server_version()[:2] == (15, 2)
    apg.assert_create_pool()
    apg.assert_acquire()
    apg.assert_release()
    verifier.verify_all()


async def test_an_acquire_context_gives_one_connection(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg)
    acquire_script(apg)
    acquire_script(apg)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        context = pool.acquire()
        async with context:
            inside = await error_of(context.__aenter__)
        after = await error_of(context.__aenter__)
        awaited = pool.acquire()
        conn = await awaited
        after_await = await error_of(awaited.__aenter__)
        await pool.release(conn)
        await pool.close()
    for error in (inside, after, after_await):
        assert isinstance(error, ClientCheckError)
        assert isinstance(error, asyncpg.InterfaceError)
        assert str(error) == "a connection is already acquired"
    assert len(verifier.acknowledge_refusals()) == 3


async def test_release_refuses_what_the_pool_did_not_lend(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg, close=False)
    pool_script(apg, close=False)
    acquire_script(apg)
    apg.new_session().expect("connect", returns=None)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        other_pool = await asyncpg.create_pool()
        async with other_pool.acquire() as theirs:
            pass
        plain = await asyncpg.connect()
        errors = [
            await error_of(lambda: pool.release(theirs)),
            await error_of(lambda: pool.release(plain)),
            await error_of(lambda: pool.release(None)),
        ]
    assert [str(e) for e in errors] == [
        f"Pool.release() received invalid connection: {theirs!r} is not a member of this pool",
        f"Pool.release() received invalid connection: {plain!r} is not a member of this pool",
        "Pool.release() received invalid connection: None is not a member of this pool",
    ]
    assert all(isinstance(e, asyncpg.InterfaceError) for e in errors)
    assert str(errors[0]).startswith(
        "Pool.release() received invalid connection: <PoolConnectionProxy [released] 0x"
    )
    assert len(verifier.acknowledge_refusals(ClientCheckError)) == 3


async def test_releasing_twice_does_nothing(verifier: StrictVerifier, apg: AsyncpgPlugin) -> None:
    pool_script(apg)
    acquire_script(apg)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        conn = await pool.acquire()
        held = repr(conn)
        await pool.release(conn)
        await pool.release(conn)
        await pool.close()
    assert re.fullmatch(
        r"<PoolConnectionProxy <tripwire asyncpg Connection asyncpg session #2 "
        r"state=connected> 0x[0-9a-f]+>",
        held,
    )
    assert re.fullmatch(r"<PoolConnectionProxy \[released\] 0x[0-9a-f]+>", repr(conn))
    apg.assert_create_pool()
    apg.assert_acquire()
    apg.assert_release()
    apg.assert_close()
    verifier.verify_all()


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("fetchval", ("SELECT 1",)),
        ("execute", ("SELECT 1",)),
        ("is_closed", ()),
        ("get_server_pid", ()),
        ("transaction", ()),
        ("close", ()),
        ("add_listener", ("ch", print)),
    ],
)
async def test_a_released_connection_refuses_every_call_at_call_time(
    verifier: StrictVerifier, apg: AsyncpgPlugin, method: str, args: tuple[Any, ...]
) -> None:
    pool_script(apg, close=False)
    acquire_script(apg)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        async with pool.acquire() as conn:
            pass
        with pytest.raises(InvalidStateError) as caught:
            getattr(conn, method)(*args)  # raised by the call itself, even for coroutines
    assert isinstance(caught.value, asyncpg.InterfaceError)
    assert str(caught.value) == RELEASED.format(method)
    assert isinstance(conn, asyncpg.Connection) and isinstance(conn, PoolConnectionProxy)
    assert verifier.acknowledge_refusals() == [caught.value]


async def test_closing_a_pooled_connection_hands_it_back(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg)
    acquire_script(apg, ("close", None), release=False)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        async with pool.acquire() as conn:
            await conn.close()
            assert "[released]" in repr(conn)
        await pool.close()
    apg.assert_create_pool()
    apg.assert_acquire()
    apg.assert_close()
    apg.assert_close()
    verifier.verify_all()


async def test_a_connection_asyncpg_gave_up_on_is_dropped_at_release(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg, close=False)
    acquire_script(apg, release=False)  # nothing to reset: asyncpg only drops it
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        async with pool.acquire() as conn:
            with pytest.raises(TypeError, match="Expected str, got bytes"):
                await conn.execute(b"SELECT 1")  # type: ignore[arg-type]
            assert conn.is_closed()
        assert "[released]" in repr(conn)
    apg.assert_create_pool()
    apg.assert_acquire()
    verifier.verify_all()


async def test_release_rolls_back_an_open_transaction(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg, close=False)
    acquire_script(apg, ("execute", "BEGIN"), ("execute", "INSERT 0 1"))
    seen_by_reset = []

    async def reset(conn: asyncpg.Connection) -> None:
        seen_by_reset.append(conn.is_in_transaction())

    async with verifier.sandbox():
        pool = await asyncpg.create_pool(reset=reset)
        conn = await pool.acquire()
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO t VALUES (1)")
        await pool.release(conn, timeout=3)
    assert seen_by_reset == [False]  # asyncpg rolls back before the reset hook runs
    apg.assert_create_pool(reset=reset)
    apg.assert_acquire()
    apg.assert_execute(query="BEGIN", args=[])
    apg.assert_execute(query="INSERT INTO t VALUES (1)", args=[])
    apg.assert_release(timeout=3, rolled_back=True)
    # asyncpg complains about a transaction left open at release; so does tripwire.
    with pytest.raises(LeakedResourcesError, match="asyncpg session #2"):
        verifier.verify_all()


# Leftovers, closing and exhaustion.


async def test_an_unreleased_connection_fails_verification(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg, close=False)
    acquire_script(apg, release=False)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        await pool.acquire()
    apg.assert_create_pool()
    apg.assert_acquire()
    with pytest.raises(LeakedResourcesError) as caught:
        verifier.verify_all()
    assert str(caught.value) == (
        "1 resource was left open at the end of the test:\n"
        f"  - asyncpg session #2: the connection acquired from a pool at {__file__}:{line} was "
        "never released; use `async with pool.acquire() as conn:` or "
        "`await pool.release(conn)`."
    )


async def test_close_waits_for_connections_other_tasks_release(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg)
    acquire_script(apg, ("fetchval", 1))
    events = []
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        conn = await pool.acquire()

        async def finish_request() -> None:
            await asyncio.sleep(0.01)
            events.append(("closing", pool.is_closing()))
            events.append(("acquire", str(await error_of(pool.acquire))))
            events.append(("fetchval", await conn.fetchval("SELECT 1")))
            await pool.release(conn)

        request = asyncio.create_task(finish_request())
        await pool.close()
        events.append(("closed", pool.is_closing()))
        await request
    assert events == [
        ("closing", True),
        ("acquire", "pool is closing"),
        ("fetchval", 1),
        ("closed", True),
    ]
    verifier.acknowledge_refusals()
    apg.assert_create_pool()
    apg.assert_acquire()
    apg.assert_fetchval(query="SELECT 1", args=[])
    apg.assert_release()
    apg.assert_close()
    verifier.verify_all()


async def test_close_with_a_leaked_connection_is_refused_instead_of_hanging(
    verifier: StrictVerifier, apg: AsyncpgPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "RELEASE_WAIT", 0.01)
    pool_script(apg)
    acquire_script(apg, release=False)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        conn = await pool.acquire()
        with pytest.raises(InvalidStateError) as caught:
            await pool.close()
        # As when asyncpg's close() fails: the pool is terminated.
        assert pool.is_closing() and "[released]" in repr(conn)
    assert not isinstance(caught.value, asyncpg.InterfaceError)
    assert str(caught.value).startswith(
        "asyncpg.Pool.close() waited 0.01 s for 1 acquired connection(s) to be released: "
        f"asyncpg session #2 acquired at {__file__}:"
    )
    assert verifier.acknowledge_refusals() == [caught.value]
    apg.assert_create_pool()
    apg.assert_acquire()
    with pytest.raises(LeakedResourcesError):
        verifier.verify_all()


async def cancelled_close(dsn: str) -> list[tuple[str, Any, Any]]:
    """A shutdown that gives up waiting for a connection still out."""
    pool = await asyncpg.create_pool(dsn, min_size=0)
    conn = await pool.acquire()
    results = [await outcome(lambda: asyncio.wait_for(pool.close(), 0.05))]
    results.append(await outcome(lambda: repr(conn)))
    results.append(await outcome(pool.is_closing))
    results.append(await outcome(lambda: pool.fetchval("SELECT 1")))
    results.append(await outcome(lambda: pool.release(conn)))
    return results


async def test_a_cancelled_close_terminates_the_pool(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg, close=False)
    acquire_script(apg, release=False)
    async with verifier.sandbox():
        results = await cancelled_close("postgresql://h/db")
    assert results == [
        ("raised", asyncio.TimeoutError, ""),
        ("returned", "str", "'<PoolConnectionProxy [released] 0x…>'"),
        ("returned", "bool", "True"),
        ("raised", asyncpg.InterfaceError, "pool is closed"),
        ("returned", "NoneType", "None"),
    ]
    verifier.acknowledge_refusals()
    apg.assert_create_pool(dsn="postgresql://h/db", min_size=0)
    apg.assert_acquire()
    # The connection the code finally released is no longer reported.
    verifier.verify_all()


@pytest.mark.postgres
async def test_a_cancelled_close_matches_asyncpg(postgres_dsn: str) -> None:
    real = await cancelled_close(postgres_dsn)
    verifier = StrictVerifier()
    apg = AsyncpgPlugin(verifier)
    pool_script(apg, close=False)
    acquire_script(apg, release=False)
    async with verifier.sandbox():
        fake = await cancelled_close(postgres_dsn)
    assert fake == real


async def test_an_exhausted_pool_times_out_or_is_refused(
    verifier: StrictVerifier, apg: AsyncpgPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pool_module, "RELEASE_WAIT", 0.01)
    pool_script(apg)
    acquire_script(apg)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool(min_size=0, max_size=1)
        async with pool.acquire():
            timed_out = await error_of(lambda: pool.acquire(timeout=0.01))
            deadlock = await error_of(pool.acquire)
            shortcut = await error_of(lambda: pool.fetchval("SELECT 1"))
        await pool.close()
    # asyncpg raises asyncio's TimeoutError (the builtin one only from 3.11).
    assert type(timed_out) is asyncio.TimeoutError
    assert str(deadlock).startswith(
        "asyncpg.Pool.acquire() waited 0.01 s for a free connection, but all the pool's "
        "connections (max_size=1) are acquired (asyncpg session #2 acquired at "
    )
    assert str(shortcut).startswith("asyncpg.Pool.fetchval() waited 0.01 s")
    assert verifier.acknowledge_refusals() == [deadlock, shortcut]
    apg.assert_create_pool(min_size=0, max_size=1)
    apg.assert_acquire()
    apg.assert_release()
    apg.assert_close()
    verifier.verify_all()


async def test_a_waiting_acquire_gets_the_connection_another_task_releases(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg)
    acquire_script(apg)
    acquire_script(apg)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool(min_size=0, max_size=1)
        first = await pool.acquire()
        asyncio.get_running_loop().call_later(0.01, asyncio.ensure_future, pool.release(first))
        async with pool.acquire():
            sizes = (pool.get_size(), pool.get_idle_size())
        await pool.close()
    assert sizes == (1, 0)
    apg.assert_create_pool(min_size=0, max_size=1)
    for _ in range(2):
        apg.assert_acquire()
        apg.assert_release()
    apg.assert_close()
    verifier.verify_all()


async def test_terminate_releases_what_is_still_acquired(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    apg.new_pool().expect("create_pool", returns=None).expect("terminate", returns=None)
    acquire_script(apg, release=False)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        conn = await pool.acquire()
        pool.terminate()
        await pool.release(conn)  # released already: nothing to do
        assert "[released]" in repr(conn) and pool.is_closing() and pool.get_size() == 0
    apg.assert_create_pool()
    apg.assert_acquire()
    apg.assert_terminate()
    verifier.verify_all()


async def test_expire_connections_is_a_step_of_a_ready_pool(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg, ("expire_connections", None))
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        await pool.expire_connections()
        await pool.close()
        await pool.expire_connections()  # asyncpg ignores it once closed
    apg.assert_create_pool()
    apg.assert_expire_connections()
    apg.assert_close()
    verifier.verify_all()


@pytest.mark.parametrize(
    ("kwargs", "sizes"),
    [
        ({}, (10, 10, 10, 10)),
        ({"min_size": 0, "max_size": 3}, (0, 0, 0, 3)),
        ({"min_size": 2, "max_size": 4}, (2, 2, 2, 4)),
    ],
)
async def test_sizes_follow_the_arguments(
    verifier: StrictVerifier,
    apg: AsyncpgPlugin,
    kwargs: dict[str, Any],
    sizes: tuple[int, int, int, int],
) -> None:
    pool_script(apg)
    acquire_script(apg)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool(**kwargs)
        got = (pool.get_size(), pool.get_idle_size(), pool.get_min_size(), pool.get_max_size())
        async with pool.acquire():
            acquired = (pool.get_size(), pool.get_idle_size())
        await pool.close()
        closed = (pool.get_size(), pool.get_idle_size())
        init_size = pool.get_init_size() if hasattr(pool, "get_init_size") else sizes[2]
    assert got == sizes
    assert acquired == (max(sizes[0], 1), max(sizes[0], 1) - 1)
    assert closed == (0, 0)
    assert init_size == sizes[2]
    apg.assert_create_pool(**kwargs)
    apg.assert_acquire()
    apg.assert_release()
    apg.assert_close()
    verifier.verify_all()


async def test_a_pool_used_after_its_sandbox_closed_is_refused(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg, close=False)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
    with pytest.raises(SandboxClosedError):
        await pool.fetch("SELECT 1")
    with pytest.raises(SandboxClosedError):
        pool.get_size()
    assert len(verifier.acknowledge_refusals()) == 2


# Shortcuts.

SHORTCUTS = [
    ("fetch", ("SELECT id FROM t",), {}, [{"id": 1}], {"query": "SELECT id FROM t", "args": []}),
    ("fetchrow", ("SELECT $1::int", 2), {}, {"x": 2}, {"query": "SELECT $1::int", "args": [2]}),
    ("fetchval", ("SELECT 3",), {"column": 0}, 3, {"query": "SELECT 3", "args": []}),
    (
        "execute",
        ("DELETE FROM t",),
        {"timeout": 5},
        "DELETE 3",
        {"query": "DELETE FROM t", "args": [], "timeout": 5},
    ),
    (
        "executemany",
        ("INSERT INTO t VALUES ($1)", [(1,), (2,)]),
        {},
        None,
        {"command": "INSERT INTO t VALUES ($1)", "args": [[1], [2]]},
    ),
    (
        "fetchmany",
        ("INSERT INTO t VALUES ($1) RETURNING id", [(1,)]),
        {},
        [{"id": 1}],
        {"query": "INSERT INTO t VALUES ($1) RETURNING id", "args": [[1]]},
    ),
]


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "returns", "recorded"),
    SHORTCUTS,
    ids=[case[0] for case in SHORTCUTS],
)
async def test_pool_shortcuts_are_steps_of_the_pool_session(
    verifier: StrictVerifier,
    apg: AsyncpgPlugin,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    returns: Any,
    recorded: dict[str, Any],
) -> None:
    pool_script(apg, (method, returns))
    async with verifier.sandbox(), asyncpg.create_pool() as pool:
        result = await getattr(pool, method)(*args, **kwargs)
    assert result == returns
    apg.assert_create_pool()
    apg.assert_step(method, **recorded)
    apg.assert_close()
    verifier.verify_all()


async def test_pool_shortcuts_make_the_connections_checks(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg, ("fetchval", 3))
    async with verifier.sandbox(), asyncpg.create_pool() as pool:
        count = await error_of(lambda: pool.fetchval("SELECT $1::int + $2::int", 1))
        with pytest.raises(TypeError, match=r"^Expected str, got bytes$"):
            await pool.execute(b"SELECT 1")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"^object of type 'NoneType' has no len\(\)"):
            await pool.fetch(None)  # type: ignore[arg-type]
        with pytest.raises(asyncio.TimeoutError):
            await pool.fetchval("SELECT 1", timeout=0)
        with pytest.raises(TypeError, match="unexpected keyword argument 'record_class'"):
            await pool.fetchval("SELECT 1", record_class=None)  # type: ignore[call-arg]
        # The pool outlives the connection asyncpg gave up on.
        assert await pool.fetchval("SELECT $1::int + $2::int", 1, 2) == 3
    assert isinstance(count, ClientCheckError) and isinstance(count, asyncpg.InterfaceError)
    assert str(count).startswith("the server expects 2 arguments for this query, 1 was passed")
    assert verifier.acknowledge_refusals() == [count]
    apg.assert_create_pool()
    apg.assert_fetchval(query="SELECT $1::int + $2::int", args=[1, 2])
    apg.assert_close()
    verifier.verify_all()


async def test_pool_copy_shortcuts_behave_as_the_connections(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    # Whatever the connection's copy_records_to_table does (record it, or refuse
    # it by name), the pool's shortcut does the same on the pool's session.
    copy = {"returns": "COPY 2", "required": False}
    apg.new_pool().expect("create_pool", returns=None).expect(
        "copy_records_to_table", **copy
    ).expect("close", returns=None)
    apg.new_session().expect("acquire", returns=None).expect(
        "copy_records_to_table", **copy
    ).expect("release", returns=None)
    records = [(1, "a"), (2, "b")]
    async with verifier.sandbox(), asyncpg.create_pool() as pool:
        async with pool.acquire() as conn:
            on_connection = await outcome(lambda: conn.copy_records_to_table("t", records=records))
        on_pool = await outcome(lambda: pool.copy_records_to_table("t", records=records))
    assert on_pool[:2] == on_connection[:2]
    if on_pool[0] == "raised":
        assert on_pool[1] is NotImplementedError
        assert "asyncpg.Pool.copy_records_to_table()" in on_pool[2]
        verifier.acknowledge_refusals(NotSupportedError)
        return
    assert on_pool == on_connection == ("returned", "str", "'COPY 2'")
    recorded = [i for i in verifier.timeline if i.step == "copy_records_to_table"]
    assert recorded[0].fields == recorded[1].fields


# Hooks.


async def test_hooks_run_on_each_acquire_and_release_in_its_session(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg)
    for _ in range(2):
        acquire_script(
            apg,
            ("execute", "SET"),  # init
            ("execute", "SET"),  # setup
            ("fetchval", 1),  # the code
            ("execute", "RESET"),  # reset
        )
    seen = []

    async def init(conn: asyncpg.Connection) -> None:
        seen.append("init")
        await conn.execute("SET search_path TO app")

    async def setup(conn: asyncpg.Connection) -> None:
        seen.append("setup")
        await conn.execute("SET application_name TO 'worker'")

    async def reset(conn: asyncpg.Connection) -> None:
        seen.append("reset")
        await conn.execute("RESET ALL")

    async with verifier.sandbox(), asyncpg.create_pool(init=init, setup=setup, reset=reset) as pool:
        for _ in range(2):
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
    # One acquire is one session, a new raw connection: init runs every time.
    assert seen == ["init", "setup", "reset"] * 2
    apg.assert_create_pool(init=init, setup=setup, reset=reset)
    for _ in range(2):
        apg.assert_acquire()
        apg.assert_execute(query="SET search_path TO app", args=[])
        apg.assert_execute(query="SET application_name TO 'worker'", args=[])
        apg.assert_fetchval(query="SELECT 1", args=[])
        apg.assert_execute(query="RESET ALL", args=[])
        apg.assert_release()
    apg.assert_close()
    verifier.verify_all()


async def test_a_failing_setup_closes_the_connection(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg)
    acquire_script(apg, release=False)
    given: list[asyncpg.Connection] = []

    async def setup(conn: asyncpg.Connection) -> None:
        given.append(conn)
        raise ValueError("setup failed")

    async with verifier.sandbox(), asyncpg.create_pool(setup=setup) as pool:
        with pytest.raises(ValueError, match="setup failed"):
            await pool.acquire()
        assert given[0].is_closed()
    apg.assert_create_pool(setup=setup)
    apg.assert_acquire()
    apg.assert_close()
    verifier.verify_all()


async def test_a_connect_callback_makes_the_connection(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg)
    apg.new_session().expect("connect", returns=None).expect("fetchval", returns=1).expect(
        "release", returns=None
    )

    async def connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
        return await asyncpg.connect(*args, password="token", **kwargs)

    async with verifier.sandbox():
        pool = asyncpg.create_pool("postgresql://h/db", connect=connect, user="app")
        async with pool, pool.acquire() as conn:
            assert await conn.fetchval("SELECT 1") == 1
    apg.assert_create_pool(dsn="postgresql://h/db", connect=connect, user="app")
    # asyncpg passes the pool's arguments, its loop and its classes.
    apg.assert_connect(
        dsn="postgresql://h/db",
        password="token",
        user="app",
        loop=ANY,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
    )
    apg.assert_fetchval(query="SELECT 1", args=[])
    apg.assert_release()
    apg.assert_close()
    verifier.verify_all()


async def test_a_connect_callback_must_return_a_connection(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg, close=False)

    async def connect(*args: Any, **kwargs: Any) -> None:
        return None

    async with verifier.sandbox():
        pool = await asyncpg.create_pool(connect=connect)
        error = await error_of(pool.acquire)
    assert isinstance(error, asyncpg.InterfaceError)
    assert str(error) == (
        "expected pool connect callback to return an instance of "
        "'asyncpg.connection.Connection', got 'NoneType'"
    )
    assert verifier.acknowledge_refusals() == [error]


# The shape of the API.


def parameters(function: Any) -> list[tuple[str, str, Any]]:
    signature = inspect.signature(function)
    return [(p.name, p.kind.name, p.default) for p in signature.parameters.values()]


def public(cls: type) -> list[str]:
    dunders = ("__aenter__", "__aexit__", "__await__")
    return [
        name
        for name in dir(cls)
        if (not name.startswith("_") or name in dunders)
        and callable(inspect.getattr_static(cls, name))
    ]


@pytest.mark.parametrize(
    ("fake", "real", "name"),
    [(Pool, asyncpg.pool.Pool, name) for name in public(asyncpg.pool.Pool)]
    + [
        (PoolAcquireContext, asyncpg.pool.PoolAcquireContext, name)
        for name in public(asyncpg.pool.PoolAcquireContext)
    ],
)
def test_pool_methods_have_asyncpgs_signatures_and_shapes(
    fake: type, real: type, name: str
) -> None:
    mine, theirs = getattr(fake, name), getattr(real, name)
    assert parameters(mine) == parameters(theirs)
    assert inspect.iscoroutinefunction(mine) == inspect.iscoroutinefunction(theirs)


def test_pool_and_acquire_context_have_asyncpgs_protocols() -> None:
    for fake, real in (
        (Pool, asyncpg.pool.Pool),
        (PoolAcquireContext, asyncpg.pool.PoolAcquireContext),
    ):
        for dunder in ("__await__", "__aenter__", "__aexit__", "__aiter__"):
            assert hasattr(fake, dunder) == hasattr(real, dunder), (fake, dunder)
    assert set(public(Pool)) == set(public(asyncpg.pool.Pool))


async def test_an_unknown_pool_method_is_refused_by_name(
    verifier: StrictVerifier, apg: AsyncpgPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A method a later asyncpg adds: present on the fake (hasattr), refused when called.
    monkeypatch.setattr(asyncpg.pool.Pool, "rebalance", lambda self: None, raising=False)
    pool_script(apg, close=False)
    async with verifier.sandbox():
        pool = await asyncpg.create_pool()
        with pytest.raises(NotSupportedError, match=r"^asyncpg\.Pool\.rebalance\(\) is not"):
            pool.rebalance()
        with pytest.raises(AttributeError):
            pool.not_an_asyncpg_method  # noqa: B018
    verifier.acknowledge_refusals()


# Against a real pool.


def asyncpg_class(error: BaseException) -> type[BaseException]:
    """The class production code would catch: the first non-tripwire one."""
    return next(c for c in type(error).__mro__ if not c.__module__.startswith("tripwire"))


def shape(value: Any) -> Any:
    """Addresses and the wrapped connection's repr vary: keep the rest."""
    if not isinstance(value, str):
        return value
    value = re.sub(
        r"<PoolConnectionProxy <.*?> (0x[0-9a-f]+)>", r"<PoolConnectionProxy <…> \1>", value
    )
    return re.sub(r"0x[0-9a-f]+", "0x…", value)


async def outcome(call: Callable[[], Any]) -> tuple[str, Any, Any]:
    try:
        value = call()
        if inspect.isawaitable(value):
            value = await value
    except Exception as error:
        return ("raised", asyncpg_class(error), shape(str(error)))
    if isinstance(value, (asyncpg.pool.Pool, Pool)):
        return ("returned", "Pool", None)
    return ("returned", type(value).__name__, shape(repr(value)))


async def pool_journey(dsn: str) -> list[tuple[str, Any, Any]]:
    """A pool's life, from creation to after close, as the code sees it."""
    results = []
    pool = asyncpg.create_pool(dsn, min_size=0, max_size=2)
    results.append(await outcome(lambda: pool.fetchval("SELECT 1")))
    results.append(await outcome(pool.close))
    results.append(await outcome(lambda: pool))
    results.append(await outcome(lambda: pool))
    results.append(await outcome(lambda: (pool.get_size(), pool.get_idle_size())))
    results.append(await outcome(lambda: pool.fetchval("SELECT $1::int", 2)))
    results.append(await outcome(lambda: pool.fetchval("SELECT $1::int")))
    results.append(await outcome(lambda: pool.execute(b"SELECT 1")))
    results.append(await outcome(lambda: pool.execute(None)))
    results.append(await outcome(lambda: pool.fetch(None)))
    context = pool.acquire()
    async with context as conn:
        results.append(await outcome(lambda: repr(conn)))
        results.append(await outcome(lambda: isinstance(conn, asyncpg.Connection)))
        results.append(await outcome(lambda: (pool.get_size(), pool.get_idle_size())))
        results.append(await outcome(context.__aenter__))
        results.append(await outcome(lambda: conn.fetchval("SELECT 4")))
    results.append(await outcome(lambda: repr(conn)))
    results.append(await outcome(lambda: pool.release(conn)))
    for method in ("fetchval", "is_closed", "transaction"):
        results.append(await outcome(lambda m=method: getattr(conn, m)("SELECT 1")))
    results.append(await outcome(lambda: pool.release(object())))
    results.append(await outcome(lambda: pool.acquire(timeout=0)))
    results.append(await outcome(pool.expire_connections))
    results.append(await outcome(pool.close))
    results.append(await outcome(pool.is_closing))
    results.append(await outcome(lambda: pool.fetch("SELECT 1")))
    results.append(await outcome(pool.close))
    results.append(await outcome(pool.terminate))
    results.append(await outcome(lambda: pool))
    return results


@pytest.mark.postgres
async def test_a_pools_life_looks_the_same_as_with_asyncpg(postgres_dsn: str) -> None:
    real = await pool_journey(postgres_dsn)

    verifier = StrictVerifier()
    apg = AsyncpgPlugin(verifier)
    apg.new_pool().expect("create_pool", returns=None).expect("fetchval", returns=2).expect(
        "expire_connections", returns=None
    ).expect("close", returns=None)
    acquire_script(apg, ("fetchval", 4))
    async with verifier.sandbox():
        fake = await pool_journey(postgres_dsn)
    assert fake == real
    verifier.acknowledge_refusals()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_size": 0},
        {"min_size": 3, "max_size": 2},
        {"max_queries": 0},
        {"max_inactive_connection_lifetime": -1},
        {"connection_class": object},
        {"record_class": dict},
        {"init_size": 20},
    ],
)
async def test_argument_errors_match_asyncpg(postgres_dsn: str, kwargs: dict[str, Any]) -> None:
    real = await outcome(lambda: asyncpg.create_pool(postgres_dsn, **kwargs))
    verifier = StrictVerifier()
    AsyncpgPlugin(verifier)
    async with verifier.sandbox():
        fake = await outcome(lambda: asyncpg.create_pool(postgres_dsn, **kwargs))
    assert fake == real
    assert fake[0] == "raised"


@pytest.mark.postgres
async def test_hook_order_matches_asyncpg(postgres_dsn: str) -> None:
    async def run(calls: list[str]) -> None:
        async def init(conn: Any) -> None:
            calls.append("init")

        async def setup(conn: Any) -> None:
            calls.append("setup " + shape(repr(conn)))

        async def reset(conn: Any) -> None:
            calls.append(f"reset in_transaction={conn.is_in_transaction()}")

        hooked = asyncpg.create_pool(postgres_dsn, min_size=0, init=init, setup=setup, reset=reset)
        async with hooked as pool, pool.acquire() as conn:
            await conn.execute("SELECT 1")
            calls.append("used")

    real: list[str] = []
    await run(real)
    verifier = StrictVerifier()
    apg = AsyncpgPlugin(verifier)
    pool_script(apg)
    acquire_script(apg, ("execute", "SELECT 1"))
    fake: list[str] = []
    async with verifier.sandbox():
        await run(fake)
    assert fake == real


async def test_a_release_with_a_listener_still_registered_warns_like_asyncpg(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    pool_script(apg)
    acquire_script(apg, ("add_listener", None))
    async with asyncpg.create_pool("postgresql://db/app") as pool, pool.acquire() as conn:
        await conn.add_listener("jobs", lambda *args: None)
        with pytest.warns(
            asyncpg.exceptions.InterfaceWarning,
            match="is being released to the pool but has 1 active notification listener$",
        ):
            await pool.release(conn)
