"""The pytest plugin: a verifier per test, verified at teardown.

Registered through the ``pytest11`` entry point, so installing tripwire is
enough.  Each test gets a fresh :class:`StrictVerifier` (the
``tripwire_verifier`` fixture), which ``tripwire.<driver>`` and
``with tripwire:`` use.  After the test, sandboxes it left open are closed
and ``verify_all()`` runs, unless the test already failed: its own failure
is the one to read.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from .verifier import StrictVerifier, use_verifier

__all__ = ["tripwire_verifier"]

_call_failed = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_call_failed] = report.failed
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
    if request.node.stash.get(_call_failed, False):
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
