"""Strict verification: what is left unasserted, unused or refused fails."""

from __future__ import annotations

import contextlib
from unittest.mock import ANY

import asyncpg
import pytest

from tripwire import (
    InteractionMismatchError,
    MissingAssertionFieldsError,
    StrictVerifier,
    UnacknowledgedRefusalsError,
    UnassertedInteractionsError,
    UnusedMocksError,
    VerificationError,
)
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin


async def run_session(verifier: StrictVerifier, apg: AsyncpgPlugin) -> None:
    (
        apg.new_session()
        .expect("connect", returns=None)
        .expect("fetch", returns=[{"id": 1}])
        .expect("close", returns=None)
    )
    async with verifier.sandbox():
        conn = await asyncpg.connect(host="db", user="app")
        await conn.fetch("SELECT id FROM users WHERE name = $1", "Alice")
        await conn.close()


async def test_unasserted_interactions_print_the_assertions_to_paste(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    await run_session(verifier, apg)
    apg.assert_connect(host="db", user="app")
    with pytest.raises(UnassertedInteractionsError) as caught:
        verifier.verify_all()
    assert str(caught.value) == (
        "2 interactions were recorded but never asserted. Add to the test, in this order:\n"
        "    tripwire.asyncpg.assert_fetch(query='SELECT id FROM users WHERE name = $1', "
        "args=['Alice'])\n"
        "    tripwire.asyncpg.assert_close()"
    )
    assert isinstance(caught.value, AssertionError)


async def test_unused_steps_name_session_step_and_place(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    apg.new_session().expect("connect", returns=None).expect("close", returns=None)
    async with verifier.sandbox():
        await asyncpg.connect()
    apg.assert_connect()
    with pytest.raises(UnusedMocksError) as caught:
        verifier.verify_all()
    message = str(caught.value)
    assert message.startswith(
        "1 required step was scripted but never used:\n"
        "  - asyncpg session #1, step 2 of 2: close (registered at "
    )
    assert "test_verifier.py:" in message
    assert message.endswith("Remove it, mark it required=False, or make the code take it.")


async def test_a_session_never_connected_leaves_every_step_unused(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    apg.new_session().expect("connect", returns=None).expect("close", returns=None)
    with pytest.raises(UnusedMocksError, match="2 required steps were scripted"):
        verifier.verify_all()


async def test_mismatch_shows_each_differing_field(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    await run_session(verifier, apg)
    apg.assert_connect(host="db", user="app")
    with pytest.raises(InteractionMismatchError) as caught:
        apg.assert_fetch(query="SELECT id FROM users WHERE name = $1", args=["Bob"])
    assert str(caught.value) == (
        "asyncpg.fetch (interaction #2, session #1) does not match the assertion:\n"
        "  args:\n    expected ['Bob']\n    actual   ['Alice']\n"
        "The interaction as recorded:\n"
        "    tripwire.asyncpg.assert_fetch(query='SELECT id FROM users WHERE name = $1', "
        "args=['Alice'])"
    )


async def test_out_of_order_assertion_names_the_next_interaction(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    await run_session(verifier, apg)
    with pytest.raises(InteractionMismatchError) as caught:
        apg.assert_close()
    assert str(caught.value).startswith(
        "the next interaction is asyncpg.connect(host='db', user='app'), not asyncpg.close.\n"
        "Assert interactions in the order they happened; the next one is:\n"
        "    tripwire.asyncpg.assert_connect(host='db', user='app')"
    )


@pytest.mark.parametrize(
    ("given", "missing"),
    [({"query": "SELECT id FROM users WHERE name = $1"}, "args"), ({"args": ["Alice"]}, "query")],
)
async def test_leaving_out_a_field_is_an_error(
    verifier: StrictVerifier, apg: AsyncpgPlugin, given: dict[str, object], missing: str
) -> None:
    await run_session(verifier, apg)
    apg.assert_connect(host="db", user="app")
    with pytest.raises(MissingAssertionFieldsError) as caught:
        apg.assert_fetch(**given)
    assert str(caught.value).startswith(f"assert_fetch() leaves out {missing}, which ")


async def test_connect_requires_whichever_fields_were_used(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    await run_session(verifier, apg)
    with pytest.raises(MissingAssertionFieldsError, match="leaves out user"):
        apg.assert_connect(host="db")


async def test_matchers_and_tuples_are_accepted(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    await run_session(verifier, apg)
    apg.assert_connect(host=ANY, user="app")
    apg.assert_fetch(query=ANY, args=("Alice",))
    apg.assert_close()
    verifier.verify_all()


async def test_in_any_order(verifier: StrictVerifier, apg: AsyncpgPlugin) -> None:
    await run_session(verifier, apg)
    with verifier.in_any_order():
        apg.assert_close()
        apg.assert_fetch(query="SELECT id FROM users WHERE name = $1", args=["Alice"])
        apg.assert_connect(host="db", user="app")
    verifier.verify_all()


async def test_asserting_more_than_happened(verifier: StrictVerifier, apg: AsyncpgPlugin) -> None:
    with pytest.raises(InteractionMismatchError, match="every recorded interaction has already"):
        apg.assert_close()


async def test_swallowed_refusal_fails_verification_until_acknowledged(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    apg.new_session().expect("connect", returns=None).expect("close", returns=None)
    async with verifier.sandbox():
        conn = await asyncpg.connect()
        await conn.close()
        # Careless production code swallows the error.
        with contextlib.suppress(asyncpg.InterfaceError):
            await conn.execute("SELECT 1")
    apg.assert_connect()
    apg.assert_close()
    with pytest.raises(UnacknowledgedRefusalsError) as caught:
        verifier.verify_all()
    assert str(caught.value).startswith(
        "1 call was refused while the test ran, and the test did not acknowledge it:\n"
        "  - InvalidStateError: connection is closed\n"
    )
    [refusal] = verifier.acknowledge_refusals()
    assert isinstance(refusal, asyncpg.InterfaceError)
    verifier.verify_all()


async def test_several_failures_are_reported_together(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    apg.new_session().expect("connect", returns=None).expect("close", returns=None)
    async with verifier.sandbox():
        await asyncpg.connect()
    with pytest.raises(VerificationError) as caught:
        verifier.verify_all()
    assert isinstance(caught.value, UnassertedInteractionsError)
    assert isinstance(caught.value, UnusedMocksError)
    assert "never asserted" in str(caught.value)
    assert "never used" in str(caught.value)
