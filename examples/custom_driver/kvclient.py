"""A stand-in for a real key-value store client library.

Only its shape matters to the example: ``connect(host, port)`` returns a
client with ``get``, ``set`` and ``close``.  There is no server, so the real
``connect`` refuses as an unreachable server would: a test that forgets to
intercept it fails instead of passing by accident.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["DEFAULT_PORT", "Client", "KvError", "connect"]

DEFAULT_PORT = 6380


class KvError(Exception):
    """Raised by the client, for instance when it is used after ``close()``."""


class Client(Protocol):
    """The connection ``connect()`` returns."""

    def get(self, key: str) -> str | None:
        """The value stored under *key*, or ``None`` if there is none."""

    def set(self, key: str, value: str) -> None:
        """Store *value* under *key*."""

    def close(self) -> None:
        """Close the connection; later calls raise :class:`KvError`."""


def connect(host: str, port: int = DEFAULT_PORT) -> Client:
    """Open a connection to the server at *host*:*port*."""
    raise ConnectionRefusedError(f"[Errno 111] Connection refused: kv server at {host}:{port}")
