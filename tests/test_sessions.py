"""Each call is checked as it happens: state, then script length, then step."""

from __future__ import annotations

import asyncpg
import pytest

from tripwire import (
    ConfigurationError,
    InvalidStateError,
    StepMismatchError,
    StrictVerifier,
    UnmockedInteractionError,
)
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin


async def test_call_in_a_state_where_the_step_is_illegal(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    apg.new_session().expect("connect", returns=None).expect("close", returns=None)
    conn = await asyncpg.connect()
    await conn.close()
    with pytest.raises(InvalidStateError) as caught:
        await conn.fetchval("SELECT 1")
    # Worded as asyncpg words it; tripwire's explanation is a note on the error.
    assert str(caught.value) == "connection is closed"
    assert caught.value.explanation == (
        "asyncpg session #1 is in state 'closed': fetchval(query='SELECT 1', args=[]) is not "
        "allowed there.\n"
        "fetchval is legal in: connected, in_transaction, pool_ready; legal now: none."
    )
    assert isinstance(caught.value, asyncpg.InterfaceError)


async def test_exhausted_script(sandbox: StrictVerifier, apg: AsyncpgPlugin) -> None:
    apg.new_session().expect("connect", returns=None).expect("fetchval", returns=1)
    conn = await asyncpg.connect()
    await conn.fetchval("SELECT 1")
    with pytest.raises(UnmockedInteractionError) as caught:
        await conn.fetch("SELECT 2")
    assert str(caught.value) == (
        "asyncpg session #1: script exhausted after 2/2 steps; "
        "fetch(query='SELECT 2', args=[]) was not scripted.\n"
        'Add it to the session: .expect("fetch", returns=...)'
    )
    assert not isinstance(caught.value, asyncpg.InterfaceError)


async def test_no_session_queued(sandbox: StrictVerifier, apg: AsyncpgPlugin) -> None:
    with pytest.raises(UnmockedInteractionError) as caught:
        await asyncpg.connect("postgresql://localhost/db")
    assert str(caught.value) == (
        "asyncpg.connect() was called, but no asyncpg session is queued "
        "(none scripted).\n"
        'Script one before the code runs: tripwire.asyncpg.new_session().expect("connect", '
        "returns=...)"
    )


async def test_wrong_step_is_never_served_the_next_steps_value(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    apg.new_session().expect("connect", returns=None).expect("fetch", returns=[]).expect(
        "close", returns=None
    )
    conn = await asyncpg.connect()
    with pytest.raises(StepMismatchError) as caught:
        await conn.fetchval("SELECT count(*) FROM t")
    first_line = str(caught.value).splitlines()[0]
    assert first_line == (
        "asyncpg session #1: expected step 2 of 3: fetch, "
        "got fetchval(query='SELECT count(*) FROM t', args=[])."
    )
    assert "test_sessions.py:" in str(caught.value)


async def test_optional_steps_may_be_skipped(sandbox: StrictVerifier, apg: AsyncpgPlugin) -> None:
    (
        apg.new_session()
        .expect("connect", returns=None)
        .expect("fetchval", returns=1, required=False)
        .expect("close", returns=None)
    )
    conn = await asyncpg.connect()
    await conn.close()
    apg.assert_connect()
    apg.assert_close()
    sandbox.verify_all()


async def test_scripted_exception_is_raised_and_recorded(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    error = asyncpg.UniqueViolationError("duplicate key value")
    apg.new_session().expect("connect", returns=None).expect("execute", raises=error)
    conn = await asyncpg.connect()
    with pytest.raises(asyncpg.UniqueViolationError) as caught:
        await conn.execute("INSERT INTO t VALUES ($1)", 1)
    assert caught.value is error
    apg.assert_connect()
    apg.assert_execute(query="INSERT INTO t VALUES ($1)", args=[1])
    sandbox.verify_all()


async def test_sessions_are_taken_in_order(sandbox: StrictVerifier, apg: AsyncpgPlugin) -> None:
    apg.new_session().expect("connect", returns=None).expect("fetchval", returns="first")
    apg.new_session().expect("connect", returns=None).expect("fetchval", returns="second")
    one = await asyncpg.connect(database="one")
    two = await asyncpg.connect(database="two")
    assert await two.fetchval("SELECT 1") == "second"
    assert await one.fetchval("SELECT 1") == "first"


@pytest.mark.parametrize(
    ("method", "kwargs", "message"),
    [
        (
            "nope",
            {"returns": None},
            "asyncpg has no step 'nope'; valid steps: connect, execute, executemany, fetch, ",
        ),
        (
            "fetch",
            {"returns": {"id": 1}},
            "expect('fetch', returns={'id': 1}) is refused: "
            "expected a list of rows (dicts), got dict. fetch returns a list of dicts (rows).",
        ),
        (
            "fetchrow",
            {"returns": [1]},
            "expect('fetchrow', returns=[1]) is refused: a row is a "
            "dict of column name to value, got list. fetchrow returns a dict (one row) or None.",
        ),
        (
            "execute",
            {"returns": 1},
            "expect('execute', returns=1) is refused: expected a status "
            "string such as 'INSERT 0 1', got 1. "
            "execute returns a status str such as 'INSERT 0 1'.",
        ),
        ("fetch", {}, "expect('fetch') needs returns= (a list of dicts (rows)) or raises="),
        (
            "fetch",
            {"returns": [], "raises": "boom"},
            "expect('fetch', raises=...) needs an exception class or instance, got 'boom'",
        ),
    ],
)
def test_expect_refuses_bad_scripts(
    apg: AsyncpgPlugin, method: str, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        apg.new_session().expect(method, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_rows_must_share_columns(apg: AsyncpgPlugin) -> None:
    with pytest.raises(
        ConfigurationError, match=r"row 2 has columns \['b'\] but row 1 has \['a'\]"
    ):
        apg.new_session().expect("fetch", returns=[{"a": 1}, {"b": 2}])


def test_a_second_plugin_for_one_verifier_is_refused(apg: AsyncpgPlugin) -> None:
    with pytest.raises(ValueError, match="AsyncpgPlugin is already attached to this verifier"):
        AsyncpgPlugin(apg.verifier)


async def test_a_scripted_failure_does_not_move_the_state(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    apg.new_session().expect("connect", raises=ConnectionRefusedError("no server"))
    with pytest.raises(ConnectionRefusedError, match="no server"):
        await asyncpg.connect()
    assert apg.sessions[0].state == "disconnected"


async def test_a_failed_close_still_closes_like_asyncpg(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    (apg.new_session().expect("connect", returns=None).expect("close", raises=TimeoutError()))
    conn = await asyncpg.connect()
    with pytest.raises(TimeoutError):
        await conn.close()
    assert conn.is_closed()


async def test_a_mismatch_names_the_required_step_after_optional_ones(
    sandbox: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    (
        apg.new_session()
        .expect("connect", returns=None)
        .expect("fetch", returns=[], required=False)
        .expect("execute", returns="SELECT 1")
    )
    conn = await asyncpg.connect()
    with pytest.raises(StepMismatchError) as caught:
        await conn.fetchval("SELECT 1")
    assert str(caught.value).splitlines()[0] == (
        "asyncpg session #1: expected step 3 of 3: execute (after optional fetch, which may be "
        "skipped), got fetchval(query='SELECT 1', args=[])."
    )


def test_raises_accepts_a_class_that_can_be_made_without_arguments(apg: AsyncpgPlugin) -> None:
    handle = apg.new_session().expect("connect", raises=ConnectionRefusedError)
    assert isinstance(handle.session.script[0].raises, ConnectionRefusedError)


@pytest.mark.parametrize(
    ("error_class", "why"),
    [
        (asyncpg.InterfaceError, "TypeError: InterfaceError.__init__() missing 1 required"),
        (asyncpg.UniqueViolationError, "IndexError: tuple index out of range"),
    ],
)
def test_raises_refuses_a_class_that_needs_arguments(
    apg: AsyncpgPlugin, error_class: type[Exception], why: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        apg.new_session().expect("connect", raises=error_class)
    assert str(caught.value).startswith(
        f"expect('connect', raises={error_class.__name__}) cannot make an instance ({why}"
    )
    assert str(caught.value).endswith(f"pass one: raises={error_class.__name__}('what happened')")


def test_an_explicit_plugin_replaces_one_a_sandbox_attached(verifier: StrictVerifier) -> None:
    with verifier.sandbox():
        pass
    implicit = verifier.plugin(AsyncpgPlugin)
    explicit = AsyncpgPlugin(verifier)
    assert explicit is not implicit
    assert verifier.plugin(AsyncpgPlugin) is explicit
