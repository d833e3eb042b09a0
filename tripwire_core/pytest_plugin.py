"""The pytest plugin: a verifier per test, verified at teardown.

Registered through the ``pytest11`` entry point, so installing tripwire is
enough.  Each test gets a fresh :class:`StrictVerifier` (the
``tripwire_verifier`` fixture), which ``tripwire.<driver>`` and
``with tripwire:`` use.  After the test, sandboxes it left open are closed
and, if the test passed, ``verify_all()`` runs: a failing test's own failure
is the one to read, and a skipped test never ran its script to the end.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from .verifier import StrictVerifier, use_verifier

__all__ = ["tripwire_verifier"]

_call_passed = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_call_passed] = report.passed
    return report


@pytest.fixture(autouse=True)
def _tripwire_autouse(request: pytest.FixtureRequest) -> Iterator[StrictVerifier]:
    __tracebackhide__ = True
    verifier = StrictVerifier()
    with use_verifier(verifier):
        yield verifier
    leftover = list(verifier.open_sandboxes)
    for sandbox in reversed(leftover):
        sandbox.close()
    # Verify only a test that passed: a failure is the message to read, and
    # a skipped or xfailed test did not run its script to the end.
    if not request.node.stash.get(_call_passed, False):
        return
    if leftover:
        pytest.fail(
            f"the test left {len(leftover)} tripwire sandbox(es) open; they were closed "
            "at teardown. Use `with tripwire:` so the sandbox closes with the block.",
            pytrace=False,
        )
    verifier.verify_all()


@pytest.fixture
def tripwire_verifier(_tripwire_autouse: StrictVerifier) -> StrictVerifier:
    """The current test's verifier."""
    return _tripwire_autouse
