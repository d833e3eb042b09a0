"""What a fake connection knows about its server without asking it.

``asyncpg`` reads the server version, backend pid and settings during the
handshake; the fake takes them from the ``connect`` step's ``returns``
(a :class:`ServerInfo`, or ``None`` for sensible defaults).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from asyncpg.types import ServerVersion

__all__ = ["ServerInfo", "ServerMethods", "Settings", "server_info"]

_DEFAULT_SETTINGS: Mapping[str, str] = MappingProxyType(
    {
        "application_name": "",
        "client_encoding": "UTF8",
        "DateStyle": "ISO, MDY",
        "integer_datetimes": "on",
        "IntervalStyle": "postgres",
        "is_superuser": "off",
        "server_encoding": "UTF8",
        "server_version": "16.4",
        "standard_conforming_strings": "on",
        "TimeZone": "UTC",
    }
)


@dataclass(frozen=True)
class ServerInfo:
    """The server a scripted connection pretends to reach.

    Script it as ``.expect("connect", returns=ServerInfo(version=(15, 2)))``.
    """

    version: tuple[int, ...] | ServerVersion = (16, 4)
    pid: int = 4242
    settings: Mapping[str, str] = field(default_factory=lambda: dict(_DEFAULT_SETTINGS))

    @property
    def server_version(self) -> ServerVersion:
        if isinstance(self.version, ServerVersion):
            return self.version
        major, minor, micro = (*self.version, 0, 0)[:3]
        return ServerVersion(major, minor, micro, "final", 0)


def server_info(value: Any) -> ServerInfo:
    """The ``connect`` step's ``returns``: ``None`` or a :class:`ServerInfo`."""
    if value is None:
        return ServerInfo()
    if isinstance(value, ServerInfo):
        return value
    raise TypeError(f"connect returns None or a tripwire_drivers.asyncpg.ServerInfo, got {value!r}")


class Settings:
    """Server parameters by attribute, like asyncpg's ``ConnectionSettings``."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> str:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"<ConnectionSettings {self._values!r}>"


class ServerMethods:
    """``get_server_version()``, ``get_server_pid()``, ``get_settings()``."""

    _info: ServerInfo

    def get_server_version(self) -> ServerVersion:
        return self._info.server_version

    def get_server_pid(self) -> int:
        if getattr(self, "_terminated", False):
            # asyncpg drops its protocol on terminate(); the lookup then fails.
            raise AttributeError("'NoneType' object has no attribute 'get_server_pid'")
        return self._info.pid

    def get_settings(self) -> Settings:
        return Settings(self._info.settings)

    def get_reset_query(self) -> str:
        return "SELECT pg_advisory_unlock_all();\nCLOSE ALL;\nUNLISTEN *;\nRESET ALL;"
