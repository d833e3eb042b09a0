"""The pytest plugin as users meet it: generated test files run by pytester."""

from __future__ import annotations

import sys
import textwrap

import pytest

SCRIPT = """
    import tripwire

    def script():
        (tripwire.asyncpg
            .new_session()
            .expect("connect",  returns=None)
            .expect("fetch",    returns=[{"id": 1, "name": "Alice"}, {"id": 2, "name": "Bob"}])
            .expect("close",    returns=None))

    async def run():
        import asyncpg
        conn = await asyncpg.connect(host="localhost", database="myapp", user="admin")
        rows = await conn.fetch("SELECT id, name FROM users")
        await conn.close()
        return rows

    def assert_connect_and_fetch():
        tripwire.asyncpg.assert_connect(host="localhost", database="myapp", user="admin")
        tripwire.asyncpg.assert_fetch(query="SELECT id, name FROM users", args=[])

    async def swallow_a_refusal():
        import asyncpg
        script()
        with tripwire:
            conn = await asyncpg.connect(host="localhost", database="myapp", user="admin")
            await conn.fetch("SELECT id, name FROM users")
            try:
                await conn.fetchval("SELECT 1")  # not scripted: refused
            except Exception:
                pass  # careless code under test
            await conn.close()
        assert_connect_and_fetch()
        tripwire.asyncpg.assert_close()
"""

INI = (
    "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    "filterwarnings = error\n"
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makepyfile(helpers=textwrap.dedent(SCRIPT))
    return pytester


def run(project: pytest.Pytester, body: str) -> pytest.RunResult:
    project.makepyfile(test_user=textwrap.dedent(body))
    return project.runpytest_subprocess("-p", "no:cacheprovider", "-rA")


def test_the_documented_quickstart_passes(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import tripwire
        from helpers import script, run, assert_connect_and_fetch

        async def test_sync_with():
            script()
            with tripwire:
                rows = await run()
            assert rows == [{"id": 1, "name": "Alice"}, {"id": 2, "name": "Bob"}]
            assert_connect_and_fetch()
            tripwire.asyncpg.assert_close()

        async def test_async_with():
            script()
            async with tripwire:
                await run()
            assert_connect_and_fetch()
            tripwire.asyncpg.assert_close()
        """,
    )
    result.assert_outcomes(passed=2)


def test_an_unasserted_interaction_fails_the_test(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import tripwire
        from helpers import script, run, assert_connect_and_fetch

        async def test_forgets_close():
            script()
            with tripwire:
                await run()
            assert_connect_and_fetch()
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*UnassertedInteractionsError: 1 interaction was recorded but never asserted.*",
            "*    tripwire.asyncpg.assert_close()",
        ]
    )


def test_an_unused_step_fails_the_test(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import asyncpg
        import tripwire
        from helpers import script, assert_connect_and_fetch

        async def test_never_closes():
            script()
            with tripwire:
                conn = await asyncpg.connect(host="localhost", database="myapp", user="admin")
                await conn.fetch("SELECT id, name FROM users")
            assert_connect_and_fetch()
        """,
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*UnusedMocksError: 1 required step was scripted but never used:*",
            "*asyncpg session #1, step 3 of 3: close (registered at *helpers.py:*)",
        ]
    )


def test_a_swallowed_refusal_fails_the_test(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import tripwire
        from helpers import swallow_a_refusal

        async def test_swallows():
            await swallow_a_refusal()

        async def test_acknowledges():
            await swallow_a_refusal()
            [refusal] = tripwire.acknowledge_refusals()
            assert "expected step 3 of 3: close, got fetchval" in str(refusal)
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_swallows*",
            "*UnacknowledgedRefusalsError: 1 call was refused while the test ran*",
            "*StepMismatchError: asyncpg session #1: expected step 3 of 3: close, got fetchval(*",
        ]
    )


def test_the_tests_own_failure_is_not_hidden(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import tripwire
        from helpers import script, run

        async def test_fails_first():
            script()
            with tripwire:
                rows = await run()
            assert len(rows) == 3
        """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 2 == 3*"])
    result.stdout.no_fnmatch_line("*UnassertedInteractionsError*")


def test_each_test_gets_its_own_verifier(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import tripwire
        from helpers import script

        def test_first(tripwire_verifier):
            script()
            assert tripwire.asyncpg.verifier is tripwire_verifier
            tripwire.asyncpg.new_session  # the plugin exists now
            tripwire_verifier.plugins[0].sessions.clear()

        def test_second(tripwire_verifier):
            assert tripwire_verifier.plugins == ()
            assert tripwire.asyncpg.sessions == []
        """,
    )
    result.assert_outcomes(passed=2)


def test_anyio_tests_work(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import pytest
        import tripwire
        from helpers import script, run, assert_connect_and_fetch

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_under_anyio():
            script()
            async with tripwire:
                await run()
            assert_connect_and_fetch()
            tripwire.asyncpg.assert_close()
        """,
    )
    result.assert_outcomes(passed=1)


def test_a_sandbox_left_open_is_closed_and_reported(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import asyncpg
        import tripwire

        def test_leaves_it_open():
            tripwire.asyncpg
            tripwire.__enter__()

        def test_after():
            assert asyncpg.connect.__code__.co_filename.endswith("connection.py")
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*the test left 1 tripwire sandbox(es) open*"])


def test_manual_use_outside_pytest(pytester: pytest.Pytester) -> None:
    script = pytester.makepyfile(
        manual=textwrap.dedent(
            """
            import asyncio
            import asyncpg
            from tripwire import StrictVerifier, UnusedMocksError
            from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin

            verifier = StrictVerifier()
            apg = AsyncpgPlugin(verifier)
            apg.new_session().expect("connect", returns=None).expect("fetchval", returns=42)

            async def main():
                async with verifier.sandbox():
                    conn = await asyncpg.connect("postgresql://app@db/app")
                    return await conn.fetchval("SELECT count(*) FROM users")

            assert asyncio.run(main()) == 42
            apg.assert_connect(dsn="postgresql://app@db/app")
            apg.assert_fetchval(query="SELECT count(*) FROM users", args=[])
            verifier.verify_all()
            try:
                AsyncpgPlugin(verifier)
            except ValueError as error:
                print("second plugin:", error)
            print("manual use ok")
            """
        )
    )
    result = pytester.run(sys.executable, str(script))
    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(
        ["second plugin: AsyncpgPlugin is already attached to this verifier*", "manual use ok"]
    )


def test_with_tripwire_outside_pytest_says_what_to_do(pytester: pytest.Pytester) -> None:
    script = pytester.makepyfile(
        outside="import tripwire\nwith tripwire:\n    pass\n",
    )
    result = pytester.run(sys.executable, str(script))
    assert result.ret == 1
    result.stderr.fnmatch_lines(
        ["*ConfigurationError: no current tripwire verifier. Inside pytest each test gets one*"]
    )


def test_a_test_that_skips_after_scripting_is_just_skipped(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
        import pytest
        from helpers import script

        def test_skips():
            script()
            pytest.skip("server feature not available")

        @pytest.mark.xfail(reason="known bug")
        def test_xfails():
            script()
            assert False
        """,
    )
    result.assert_outcomes(skipped=1, xfailed=1)


def test_a_connection_cached_across_tests_fails_the_test_that_reuses_it(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        cache=textwrap.dedent(
            """
            import asyncpg
            cached = []

            async def count():
                if not cached:
                    cached.append(await asyncpg.connect())
                try:
                    return await cached[0].fetchval("SELECT count(*) FROM t")
                except Exception:
                    return -1
            """
        )
    )
    result = run(
        project,
        """
        import tripwire
        from cache import count

        async def test_one():
            tripwire.asyncpg.new_session().expect("connect", returns=None).expect(
                "fetchval", returns=3)
            with tripwire:
                assert await count() == 3
            tripwire.asyncpg.assert_connect()
            tripwire.asyncpg.assert_fetchval(query="SELECT count(*) FROM t", args=[])

        async def test_two():
            with tripwire:
                assert await count() == -1
        """,
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_two*",
            "*SandboxClosedError: asyncpg session #1: fetchval(*) was called after the sandbox*",
        ]
    )


def test_a_fake_kept_after_every_sandbox_closed_is_refused_and_recorded(
    project: pytest.Pytester,
) -> None:
    result = run(
        project,
        """
        import sqlite3
        import pytest
        import tripwire

        def test_keeps_the_fake():
            tripwire.sqlite3
            with tripwire:
                kept = sqlite3.connect
            with pytest.raises(tripwire.UnmockedInteractionError) as caught:
                kept(":memory:")
            assert "while no sandbox is open, through a reference taken inside" in str(
                caught.value)
            assert tripwire.acknowledge_refusals() == [caught.value]
        """,
    )
    result.assert_outcomes(passed=1)
