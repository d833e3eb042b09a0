"""The tripwire driver for kvclient: ``tripwire.kv``.

Importing this module registers the driver.
"""

from typing import ClassVar

import tripwire
from tripwire_core import AttributePatch, DriverPlugin, Session, Step

from . import kvclient


class KvPlugin(DriverPlugin):
    """kvclient's state machine, and the point where the fake goes in."""

    name = "kv"
    states = ("disconnected", "connected", "closed")
    initial = "disconnected"
    steps = (
        Step("connect", "disconnected", "connected", fields=("host", "port")),
        Step("get", "connected", fields=("key",)),
        Step("set", "connected", fields=("key", "value")),
        Step("close", "connected", "closed"),
    )
    # A call on a closed client fails as the real client's would.
    native_errors: ClassVar = {"closed": (kvclient.KvError, "client is closed")}

    def patches(self) -> tuple[AttributePatch]:
        return (AttributePatch(kvclient, "connect", fake_connect),)


class FakeClient:
    """What ``kvclient.connect()`` returns inside ``with tripwire:``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, key: str) -> str | None:
        value: str | None = self._session.call("get", {"key": key})
        return value

    def set(self, key: str, value: str) -> None:
        self._session.call("set", {"key": key, "value": value})

    def close(self) -> None:
        self._session.call("close", {})


def fake_connect(host: str, port: int = kvclient.DEFAULT_PORT) -> kvclient.Client:
    session = KvPlugin.start_session("connect")
    session.call("connect", {"host": host, "port": port})
    return FakeClient(session)


tripwire.register_driver(KvPlugin)
