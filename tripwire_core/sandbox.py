"""Sandboxes: the span of code in which fake drivers replace real ones.

The active sandbox is kept in a ContextVar, so concurrent tasks and threads
each see their own.  Interception is installed when a sandbox opens and
always undone when it closes, whatever was raised in between.
"""

from __future__ import annotations

import contextvars
import threading
from contextlib import ExitStack
from types import TracebackType
from typing import TYPE_CHECKING

from .errors import ConfigurationError
from .patching import acquire_patch, release_patch

if TYPE_CHECKING:
    from typing_extensions import Self

    from .driver import DriverPlugin
    from .verifier import StrictVerifier

__all__ = ["Sandbox", "current_sandbox", "open_sandboxes"]

_active: contextvars.ContextVar[Sandbox | None] = contextvars.ContextVar(
    "tripwire_sandbox", default=None
)
_open_lock = threading.Lock()
_open: list[Sandbox] = []


def current_sandbox() -> Sandbox | None:
    """The sandbox the caller runs in.

    A context that opened no sandbox (a thread started without copying the
    context, or a task created before ``with tripwire:``) falls back to the
    innermost open sandbox, provided every open sandbox belongs to one
    verifier: then there is no doubt which test the call belongs to.
    """
    sandbox = _active.get()
    if sandbox is not None:
        return sandbox
    with _open_lock:
        if _open and all(s.verifier is _open[0].verifier for s in _open):
            return _open[-1]
    return None


def open_sandboxes() -> list[Sandbox]:
    """Every sandbox open in the process, oldest first."""
    with _open_lock:
        return list(_open)


class Sandbox:
    """Context manager (sync or async) that activates a verifier's drivers."""

    def __init__(self, verifier: StrictVerifier) -> None:
        self.verifier = verifier
        self.active = False
        self._used = False
        self._stack = ExitStack()
        self._token: contextvars.Token[Sandbox | None] | None = None
        self._previous: Sandbox | None = None

    def __repr__(self) -> str:
        return f"<Sandbox {'active' if self.active else 'inactive'}>"

    def open(self) -> None:
        if self._used:
            raise ConfigurationError(
                "this sandbox was already used; open a new one with verifier.sandbox()"
            )
        self._used = True
        self._previous = _active.get()
        from .driver import guarded_drivers  # driver.py imports this module

        for driver in guarded_drivers():
            self.verifier.plugin(driver)
        try:
            for plugin in self.verifier.plugins:
                self.install(plugin)
        except BaseException:
            self._stack.close()
            raise
        self._token = _active.set(self)
        self.active = True
        with _open_lock:
            _open.append(self)

    def close(self) -> None:
        if not self.active:
            return
        self.active = False
        try:
            self._stack.close()
        finally:
            with _open_lock:
                if self in _open:
                    _open.remove(self)
            token, self._token = self._token, None
            try:
                if token is not None:
                    _active.reset(token)
            except ValueError:
                # Closed from another context than the one that opened it
                # (an async fixture, say): restore what that context held.
                _active.set(self._previous)

    def install(self, plugin: DriverPlugin) -> None:
        """Install *plugin*'s interception for the rest of this sandbox."""
        for patch in plugin.patches():
            installed = acquire_patch(patch)
            self._stack.callback(release_patch, installed)

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
