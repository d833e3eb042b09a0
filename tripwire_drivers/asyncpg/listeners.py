"""Listeners: LISTEN/NOTIFY callbacks, server log messages and termination.

``add_listener`` and ``remove_listener`` are scripted steps: every call is
one, not only the first per channel (the one asyncpg sends ``LISTEN`` for),
so a test scripts and asserts the calls its code makes.  A NOTIFY is
scripted after a step with ``SessionHandle.notify()``; :func:`deliver` hands
it to the connection's callbacks for that channel as asyncpg does:
``callback(connection, pid, channel, payload)`` through ``loop.call_soon``
(functions) or ``loop.create_task`` (``async def``), never inline.

Log and termination listeners do not reach the server: registering them is
not a step.  Termination callbacks fire when the connection closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import warnings
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import asyncpg
import asyncpg.exceptions
import asyncpg.utils

from tripwire_core import (
    NOTHING,
    ClientCheckError,
    ConfigurationError,
    InvalidStateError,
    RefusalError,
    Session,
    Step,
)

from ._assertions import Assertions
from ._checks import refuse_client
from ._steps import OPEN, given, none

__all__ = [
    "LISTENER_STEPS",
    "ListenerAssertions",
    "ListenerMethods",
    "check_notification",
    "deliver",
    "deliver_log",
    "forget_listeners",
    "release_listeners",
    "settle_deliveries",
]

LISTENER_STEPS = (
    Step("add_listener", OPEN, None, ("channel", "callback"), none, "None"),
    Step("remove_listener", OPEN, None, ("channel", "callback"), none, "None"),
)

# asyncpg's wording, the missing space after the comma included.
_NOT_CALLABLE = "expected a callable or an `async def` function,got {!r}"

# A registered callback and whether it is an `async def` (asyncpg's _Callback).
Callbacks = dict[Callable[..., Any], bool]

# The connection of each session that registered a listener, for
# deliver(), which only knows the session.
_LISTENING: weakref.WeakKeyDictionary[Session, weakref.ReferenceType[ListenerMethods]] = (
    weakref.WeakKeyDictionary()
)


def _is_async(callback: object) -> bool | None:
    """asyncpg's test of a callback: ``None`` when it is not callable at all."""
    if inspect.iscoroutinefunction(callback):
        return True
    if callable(callback):
        return False
    return None


def _dispatch(loop: asyncio.AbstractEventLoop, callbacks: Callbacks, *args: Any) -> None:
    """Call each callback soon with *args*, as asyncpg does: never inline."""
    for callback, is_async in list(callbacks.items()):
        if is_async:
            loop.create_task(callback(*args))
        else:
            loop.call_soon(callback, *args)


class ListenerMethods:
    """Listener methods of the fake connection."""

    _session: Session

    if TYPE_CHECKING:
        # Provided by Connection.
        def _call(self, step: str, fields: dict[str, Any]) -> Any: ...

        def get_server_pid(self) -> int: ...

    def __init__(self) -> None:
        super().__init__()
        self._listeners: dict[Any, Callbacks] = {}
        self._log_listeners: Callbacks = {}
        self._termination_listeners: Callbacks = {}
        self._listener_loop: asyncio.AbstractEventLoop | None = None
        # Set by deliver(): callbacks are pending, the caller should let them run.
        self._delivered = False

    # LISTEN / NOTIFY: scripted steps.

    async def add_listener(self, channel: str, callback: Callable[..., Any]) -> None:
        fields = {"channel": channel, "callback": callback}
        is_async = _is_async(callback)
        new = channel not in self._listeners  # unhashable channels fail here, as in asyncpg
        if is_async is None or (new and channel.__class__ is not str):
            self._session.check("add_listener", fields)
            if new:
                asyncpg.utils._quote_ident(channel)  # asyncpg's error for a channel not a str
            if is_async is None:
                refuse_client(self._session, "add_listener", fields, _NOT_CALLABLE.format(callback))
        # Registered before the step runs, so a NOTIFY scripted right after
        # add_listener finds it; forgotten again if the step fails.
        callbacks = self._listeners.setdefault(channel, {})
        known = callback in callbacks
        callbacks[callback] = bool(is_async)
        self._register()
        try:
            self._call("add_listener", fields)
        except BaseException:
            if not known:
                del callbacks[callback]
                if not callbacks:
                    del self._listeners[channel]
            raise
        await settle_deliveries(self)

    async def remove_listener(self, channel: str, callback: Callable[..., Any]) -> None:
        session = self._session
        if session.state == "closed":
            # asyncpg returns without a word on a closed connection.
            session.check_sandbox("remove_listener")
            return
        fields = {"channel": channel, "callback": callback}
        session.check("remove_listener", fields)
        callbacks = self._listeners.get(channel)
        if callbacks is not None:
            # asyncpg checks the callback only for a channel it listens on, and
            # forgets it before sending UNLISTEN (so even if that fails).
            if _is_async(callback) is None:
                refuse_client(session, "remove_listener", fields, _NOT_CALLABLE.format(callback))
            callbacks.pop(callback, None)
            if not callbacks:
                del self._listeners[channel]
        self._call("remove_listener", fields)
        await settle_deliveries(self)

    # Log and termination listeners: local, not steps.

    def add_log_listener(self, callback: Callable[..., Any]) -> None:
        session = self._usable("add_log_listener")
        if session.state == "closed":
            raise session.plugin.refuse(
                InvalidStateError,
                f"{session.label}: add_log_listener() on a closed connection.",
                state="closed",
                step="add_log_listener",
            )
        self._log_listeners[callback] = self._checked(callback, "add_log_listener")
        self._register()

    def remove_log_listener(self, callback: Callable[..., Any]) -> None:
        self._usable("remove_log_listener")
        self._checked(callback, "remove_log_listener")
        self._log_listeners.pop(callback, None)

    def add_termination_listener(self, callback: Callable[..., Any]) -> None:
        self._usable("add_termination_listener")
        self._termination_listeners[callback] = self._checked(callback, "add_termination_listener")
        self._register()

    def remove_termination_listener(self, callback: Callable[..., Any]) -> None:
        self._usable("remove_termination_listener")
        self._checked(callback, "remove_termination_listener")
        self._termination_listeners.pop(callback, None)

    def _closed(self) -> None:
        # asyncpg's _cleanup(): termination callbacks are called (soon) and
        # forgotten, and so are every other listener.
        callbacks, self._termination_listeners = self._termination_listeners, {}
        if callbacks:
            _dispatch(self._loop(), callbacks, self)
        forget_listeners(self)
        parent = getattr(super(), "_closed", None)
        if parent is not None:
            parent()

    # Helpers.

    def _usable(self, method: str) -> Session:
        """Refuse *method* in a closed sandbox or on a released pooled connection."""
        session = self._session
        session.check_sandbox(method)
        if session.state == "released":
            raise session.plugin.refuse(
                InvalidStateError,
                f"{session.label}: {method}() on a connection released to its pool.",
                state="released",
                step=method,
            )
        return session

    def _checked(self, callback: object, method: str) -> bool:
        is_async = _is_async(callback)
        if is_async is None:
            session = self._session
            raise session.plugin.refuse(
                ClientCheckError,
                _NOT_CALLABLE.format(callback),
                native=asyncpg.InterfaceError,
                note=f"{session.label}: {method}() takes a function or an `async def` function.",
            )
        return is_async

    def _register(self) -> None:
        """Remember the loop to call back on, and this connection for deliver()."""
        with contextlib.suppress(RuntimeError):  # a loop is running, unless called from sync code
            self._listener_loop = asyncio.get_running_loop()
        _LISTENING[self._session] = weakref.ref(self)

    def _loop(self) -> asyncio.AbstractEventLoop:
        # asyncpg calls back on the connection's loop, wherever close() runs.
        return self._listener_loop or asyncio.get_running_loop()


class ListenerAssertions(Assertions):
    """Typed ``assert_*`` helpers for listener steps."""

    def assert_add_listener(self, *, channel: Any = NOTHING, callback: Any = NOTHING) -> None:
        """Assert the next ``add_listener(channel, callback)``."""
        __tracebackhide__ = True
        self.assert_step("add_listener", **given(channel=channel, callback=callback))

    def assert_remove_listener(self, *, channel: Any = NOTHING, callback: Any = NOTHING) -> None:
        """Assert the next ``remove_listener(channel, callback)``."""
        __tracebackhide__ = True
        self.assert_step("remove_listener", **given(channel=channel, callback=callback))


def check_notification(channel: object, payload: object, pid: object) -> None:
    """Refuse, at script time, a NOTIFY asyncpg could never deliver (for ``notify()``)."""
    if not isinstance(channel, str) or not isinstance(payload, str):
        raise ConfigurationError(
            f"notify(channel, payload) takes two str, got {channel!r} and {payload!r} "
            "(PostgreSQL sends both as text; a NOTIFY without payload has payload '')"
        )
    if pid is not None and (not isinstance(pid, int) or isinstance(pid, bool) or pid < 0):
        raise ConfigurationError(f"notify(pid=...) takes a backend pid (an int), got {pid!r}")


def deliver(session: Session, channel: str, payload: str, pid: int | None) -> None:
    """Hand a scripted NOTIFY to the listeners of *session*'s connection.

    *pid* ``None`` or ``0`` stands for the connection's own backend pid (a
    NOTIFY it sent itself).  A NOTIFY on a channel the connection does not
    listen on at that point is one PostgreSQL would not deliver: the script
    is wrong, and a refusal is recorded (not raised: the code under test,
    like a real client, hears nothing).
    """
    ref = _LISTENING.get(session)
    connection = ref() if ref is not None else None
    callbacks = connection._listeners.get(channel) if connection is not None else None
    if connection is None or not callbacks:
        listening = ", ".join(map(repr, connection._listeners)) if connection else ""
        session.plugin.refuse(
            RefusalError,
            f"{session.label}: a NOTIFY on channel {channel!r} is scripted after step "
            f"{session.used} of {session.total}, but the connection did not listen on "
            f"{channel!r} then (listening on: {listening or 'nothing'}).\n"
            "PostgreSQL delivers a notification only to connections that LISTEN on its "
            "channel: script notify() after the add_listener step, or drop it.",
        )
        return
    if not pid:
        pid = connection.get_server_pid()
    _dispatch(connection._loop(), callbacks, connection, pid, channel, payload)
    connection._delivered = True


def deliver_log(
    session: Session, severity: str, message: str, *, sqlstate: str | None = None
) -> None:
    """Hand a scripted server log message (``RAISE NOTICE``) to the log listeners.

    The listeners get ``callback(connection, message)`` with an asyncpg
    ``PostgresLogMessage`` (a ``PostgresWarning`` for ``WARNING``).  A message
    nobody listens to is dropped, as asyncpg drops it.
    """
    ref = _LISTENING.get(session)
    connection = ref() if ref is not None else None
    if connection is None or not connection._log_listeners:
        return
    if sqlstate is None:
        sqlstate = "01000" if severity.upper() == "WARNING" else "00000"
    fields = {"S": severity, "V": severity, "C": sqlstate, "M": message}
    notice = asyncpg.exceptions.PostgresLogMessage.new(fields)
    _dispatch(connection._loop(), connection._log_listeners, connection, notice)
    connection._delivered = True


async def settle_deliveries(connection: object) -> None:
    """Let callbacks delivered during the call just made run before its caller resumes.

    asyncpg reads a NOTIFY that arrives with a query's response before it
    wakes the caller up, so the callbacks run first; one turn of the loop
    does the same here.  Costs nothing when nothing was delivered.
    """
    if isinstance(connection, ListenerMethods) and connection._delivered:
        connection._delivered = False
        await asyncio.sleep(0)


def forget_listeners(connection: ListenerMethods) -> None:
    """Drop notification and log listeners, as ``reset()`` and closing do."""
    connection._listeners.clear()
    connection._log_listeners.clear()


def release_listeners(connection: ListenerMethods) -> None:
    """What a pool release does to listeners: warn about those still registered, drop them.

    asyncpg warns (``InterfaceWarning``) before it resets the connection,
    which drops them.
    """
    notification = sum(len(callbacks) for callbacks in connection._listeners.values())
    for count, kind in ((notification, "notification"), (len(connection._log_listeners), "log")):
        if count:
            warnings.warn(
                asyncpg.exceptions.InterfaceWarning(
                    # asyncpg names the raw connection behind the proxy.
                    f"<asyncpg.connection.Connection object at 0x{id(connection):x}> is being "
                    f"released to the pool but has {count} active "
                    f"{kind} listener{'s' if count > 1 else ''}"
                ),
                stacklevel=2,
            )
    forget_listeners(connection)
