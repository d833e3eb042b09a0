"""Interception is installed while a sandbox is open and always restored."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import asyncpg
import asyncpg.connection
import pytest

from tripwire import (
    ConfigurationError,
    SandboxClosedError,
    StrictVerifier,
    UnacknowledgedRefusalsError,
    UnmockedInteractionError,
)
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin
from tripwire_core import AttributePatch, DriverPlugin, Patch, Step

# Bound before any sandbox exists, as application modules do at import time.
from asyncpg import connect as imported_early  # isort: skip

ORIGINAL_CODE = asyncpg.connection.connect.__code__


def script(apg: AsyncpgPlugin, *steps: str) -> None:
    handle = apg.new_session()
    for step in steps:
        handle.expect(step, returns=None)


def test_patch_is_installed_only_inside(verifier: StrictVerifier, apg: AsyncpgPlugin) -> None:
    assert asyncpg.connect.__code__ is ORIGINAL_CODE
    with verifier.sandbox():
        assert asyncpg.connect.__code__ is not ORIGINAL_CODE
    assert asyncpg.connect.__code__ is ORIGINAL_CODE


def test_patch_is_restored_when_the_body_raises(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    with pytest.raises(RuntimeError), verifier.sandbox():
        raise RuntimeError("test body failed")
    assert asyncpg.connect.__code__ is ORIGINAL_CODE


def test_nested_sandboxes_unpatch_on_the_last_exit(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    other = StrictVerifier()
    AsyncpgPlugin(other)
    with verifier.sandbox():
        with other.sandbox():
            pass
        assert asyncpg.connect.__code__ is not ORIGINAL_CODE
    assert asyncpg.connect.__code__ is ORIGINAL_CODE


async def test_from_import_before_the_sandbox_is_intercepted(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    script(apg, "connect")
    async with verifier.sandbox():
        conn = await imported_early("postgresql://app@db/app")
    assert isinstance(conn, asyncpg.Connection)
    apg.assert_connect(dsn="postgresql://app@db/app")


async def test_connection_used_after_its_sandbox_closed(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    script(apg, "connect", "close")
    async with verifier.sandbox():
        conn = await asyncpg.connect()
    with pytest.raises(SandboxClosedError) as caught:
        await conn.close()
    assert str(caught.value) == (
        "asyncpg session #1: close() was called after the sandbox that created this "
        "connection closed.\nKeep the code that uses the connection inside `with tripwire:`."
    )


def test_a_sandbox_is_used_once(verifier: StrictVerifier) -> None:
    sandbox = verifier.sandbox()
    with sandbox:
        pass
    with pytest.raises(ConfigurationError, match="already used"), sandbox:
        pass


async def test_concurrent_tasks_each_run_in_their_sandbox(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    for _ in range(2):
        apg.new_session().expect("connect", returns=None).expect("fetchval", returns=7)

    async def worker() -> object:
        async with verifier.sandbox():
            conn = await asyncpg.connect()
            await asyncio.sleep(0)
            return await conn.fetchval("SELECT 7")

    assert await asyncio.gather(worker(), worker()) == [7, 7]
    assert asyncpg.connect.__code__ is ORIGINAL_CODE


async def test_a_thread_without_the_context_uses_the_open_sandbox(
    verifier: StrictVerifier, apg: AsyncpgPlugin
) -> None:
    script(apg, "connect")
    results: list[object] = []
    with verifier.sandbox():
        thread = threading.Thread(target=lambda: results.append(asyncio.run(asyncpg.connect())))
        thread.start()
        thread.join()
    assert isinstance(results[0], asyncpg.Connection)


def test_a_failed_install_rolls_back_what_was_installed() -> None:
    class Broken(Patch):
        @property
        def key(self) -> object:
            return "broken"

        def install(self) -> None:
            raise RuntimeError("cannot install")

        def uninstall(self) -> None:
            raise AssertionError("never installed, never uninstalled")

    class Holder:
        value = "real"

    class TwoPatches(DriverPlugin):
        name = "two_patches"
        states = ("idle",)
        initial = "idle"
        steps = (Step("noop", "idle"),)

        def patches(self) -> Sequence[Patch]:
            return (AttributePatch(Holder, "value", "fake"), Broken())

    verifier = StrictVerifier()
    TwoPatches(verifier)
    with pytest.raises(RuntimeError, match="cannot install"), verifier.sandbox():
        pass
    assert Holder.value == "real"
    assert verifier.open_sandboxes == ()


async def test_asyncpg_is_guarded_even_when_the_test_never_scripted_it() -> None:
    import tripwire

    with tripwire, pytest.raises(UnmockedInteractionError, match=r"\(none scripted\)"):
        await asyncpg.connect("postgresql://localhost/db")
    assert len(tripwire.acknowledge_refusals()) == 1


def test_an_ambiguous_call_is_refused_and_recorded_by_every_open_verifier() -> None:
    first, second = StrictVerifier(), StrictVerifier()
    AsyncpgPlugin(first)
    AsyncpgPlugin(second)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            asyncio.run(asyncpg.connect())
        except UnmockedInteractionError as error:
            errors.append(error)

    with first.sandbox(), second.sandbox():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert len(errors) == 1
    with pytest.raises(UnacknowledgedRefusalsError, match="cannot tell which test"):
        second.verify_all()
    # One error, shared: acknowledging it once settles it for both.
    assert first.acknowledge_refusals() == errors
    second.verify_all()
