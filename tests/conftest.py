"""Shared fixtures: a verifier of the test's own, outside the pytest plugin's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tripwire import StrictVerifier
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin


@pytest.fixture
def verifier() -> StrictVerifier:
    """A manual verifier, for tests that inspect verification themselves."""
    return StrictVerifier()


@pytest.fixture
def apg(verifier: StrictVerifier) -> AsyncpgPlugin:
    return AsyncpgPlugin(verifier)


@pytest.fixture
def sandbox(verifier: StrictVerifier, apg: AsyncpgPlugin) -> Iterator[StrictVerifier]:
    with verifier.sandbox():
        yield verifier
