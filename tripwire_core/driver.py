"""Drivers: the base class every driver plugs in through, and their registry.

A driver is a :class:`DriverPlugin` subclass that declares its states and
steps (compiled once, when the class is created) and the interception
points to install.  An instance is attached to one verifier and holds that
test's sessions.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ._format import names
from .errors import ConfigurationError, RefusalError, UnmockedInteractionError, blend_refusal
from .machine import StateMachine
from .patching import Patch
from .sandbox import current_sandbox, open_sandboxes
from .sessions import Session, SessionHandle
from .steps import Step
from .verifier import StrictVerifier, latest_verifier

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "ENTRY_POINT_GROUP",
    "DriverPlugin",
    "NativeErrors",
    "driver_names",
    "get_driver",
    "register_driver",
    "unregister_driver",
]

ENTRY_POINT_GROUP = "tripwire.drivers"

#: ``{state or (state, step): (the real driver's exception class, its message)}``
NativeErrors = Mapping[str | tuple[str, str], tuple[type[BaseException], str]]


class DriverPlugin:
    """Base class of drivers.  Subclasses declare, as class attributes:

    - ``name``: the name under which tests reach it (``tripwire.<name>``);
    - ``states``, ``initial``, ``steps``: the state machine;
    - ``native_errors`` (optional): ``{state: (exception class, message)}``,
      what the real driver raises for a call in that state; a key may also be
      ``(state, step)`` for one step, and the message may name ``{step}``;
    - ``library`` (optional): the module the driver fakes.  Once it is
      imported, every sandbox intercepts it, even in a test that never
      scripted this driver, so no call reaches the real database.  Leave it
      ``None`` for modules many tools import (``sqlite3``).

    and implement :meth:`patches`.
    """

    name: ClassVar[str]
    states: ClassVar[Sequence[str]]
    initial: ClassVar[str]
    steps: ClassVar[Sequence[Step]]
    machine: ClassVar[StateMachine]
    native_errors: ClassVar[NativeErrors] = {}
    handle_class: ClassVar[type[SessionHandle]] = SessionHandle
    library: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "steps" in cls.__dict__:
            # The transitions Machine is built here, once per driver class.
            cls.machine = StateMachine(cls.states, cls.initial, cls.steps)

    def __init__(self, verifier: StrictVerifier) -> None:
        if not hasattr(type(self), "machine"):
            raise ConfigurationError(f"{type(self).__name__} declares no steps")
        self.verifier = verifier
        self.sessions: list[Session] = []
        self._queues: dict[str, deque[Session]] = {}
        verifier.attach(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self.sessions)} sessions>"

    # For driver authors.

    def patches(self) -> Sequence[Patch]:
        """The interception points to install while a sandbox is open."""
        raise NotImplementedError(f"{type(self).__name__} must implement patches()")

    @classmethod
    def current(cls) -> Self | None:
        """This driver's plugin for the sandbox the caller runs in, if any."""
        sandbox = current_sandbox()
        if sandbox is None:
            return None
        return sandbox.verifier.plugin(cls)

    @classmethod
    def start_session(
        cls, call: str = "connect", queue: str = "default", hint: str | None = None
    ) -> Session:
        """For the fake entry point (``connect``): the next session of the caller's test.

        Raises :class:`UnmockedInteractionError` when no sandbox can be told
        apart for the caller, or when no session is queued.
        """
        plugin = cls.current()
        if plugin is None:
            sandboxes = open_sandboxes()
            if sandboxes:
                why = (
                    "from a context with no sandbox of its own while sandboxes of several "
                    "verifiers are open, so tripwire cannot tell which test it belongs to"
                )
                verifiers = list({id(s.verifier): s.verifier for s in sandboxes}.values())
            else:
                why = (
                    "while no sandbox is open, through a reference taken inside "
                    "`with tripwire:` and kept after the block"
                )
                verifiers = [v for v in [latest_verifier()] if v is not None]
            error = UnmockedInteractionError(
                f"{cls.name}.{call}() was called {why}. Call it inside `with tripwire:`."
            )
            # Every verifier concerned hears of it, so swallowing it fails them.
            for verifier in verifiers:
                verifier.record_refusal(error)
            raise error
        return plugin.open_session(call, queue, hint)

    def open_session(
        self, call: str = "connect", queue: str = "default", hint: str | None = None
    ) -> Session:
        """Bind the next queued session to the current sandbox and return it.

        *call* names the entry point for the error message if none is queued,
        and *hint* the line that scripts one (by default a ``new_session()``
        whose first step is *call*).
        """
        sandbox = current_sandbox()
        if sandbox is None or sandbox.verifier is not self.verifier:
            raise self.refuse(
                UnmockedInteractionError,
                f"{self.name}.{call}() ran outside a sandbox of this verifier; "
                "call it inside `with tripwire:` (or `with verifier.sandbox():`).",
            )
        waiting = self._queues.get(queue)
        if not waiting:
            scripted = sum(1 for s in self.sessions if s.queue == queue)
            raise self.refuse(
                UnmockedInteractionError,
                f"{self.name}.{call}() was called, but no {self.name} session is queued "
                f"({f'{scripted} scripted, all already used' if scripted else 'none scripted'})"
                ".\n"
                "Script one before the code runs: "
                + (hint or f'tripwire.{self.name}.new_session().expect("{call}", returns=...)'),
            )
        session = waiting.popleft()
        session.sandbox = sandbox
        return session

    def refuse(
        self,
        kind: type[RefusalError],
        message: str,
        *,
        state: str | None = None,
        step: str | None = None,
        native: type[BaseException] | None = None,
        note: str | None = None,
    ) -> RefusalError:
        """Build a refusal and record it with the verifier; the caller raises it.

        With *native* (the real driver's exception class), the error is an
        instance of both *kind* and *native*, its message is *message* as the
        real driver words it, and tripwire's explanation goes in *note*.
        With *state* (and *step*), the ``native_errors`` entry supplies the
        class and the wording, and *message* becomes the note.
        """
        if native is None and state is not None:
            entry = self.native_errors.get((state, step or ""), self.native_errors.get(state))
            if entry is not None:
                native, native_message = entry
                message, note = native_message.format(step=step), message
        error = (kind if native is None else blend_refusal(kind, native))(message)
        if note is not None:
            error.explain(note)
        self.verifier.record_refusal(error)
        return error

    # For tests.

    def new_session(self) -> SessionHandle:
        """Queue a new session; connections take queued sessions in order."""
        return self.handle_class(self.queue_session())

    def queue_session(self, queue: str = "default", initial: str | None = None) -> Session:
        """Queue a session on *queue*, starting in *initial* (the machine's by default).

        For drivers with several kinds of session (a pool beside its
        connections): each kind waits in its own queue.
        """
        if initial is not None and initial not in self.machine.states:
            raise ConfigurationError(f"{initial!r} is not a state of {self.name}")
        session = Session(self, len(self.sessions) + 1, queue, initial)
        self.sessions.append(session)
        self._queues.setdefault(queue, deque()).append(session)
        return session

    def leftovers(self) -> list[str]:
        """Resources the test left open (for ``verify_all``); none by default.

        A driver lists, one line each, what a test must not leave behind:
        a pooled connection never released, a transaction never ended.
        """
        return []

    def assert_step(self, step: str, /, **fields: Any) -> None:
        """Assert the next interaction is *step* with exactly these *fields*."""
        __tracebackhide__ = True
        spec = self.machine.steps.get(step)
        if spec is None:
            raise ConfigurationError(
                f"{self.name} has no step {step!r}; valid steps: {names(self.machine.steps)}"
            )
        self.verifier.assert_interaction(self.name, step, fields, spec.fields)

    if not TYPE_CHECKING:
        # assert_<step> for drivers that declare no typed helpers.  Hidden
        # from type checkers so a misspelt helper on a typed driver is caught.
        def __getattr__(self, attribute: str) -> Callable[..., None]:
            if attribute.startswith("assert_"):
                step = attribute[len("assert_") :]
                if step in type(self).machine.steps:
                    return functools.partial(self.assert_step, step)
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {attribute!r}")


_registry_lock = threading.Lock()
_registry: dict[str, type[DriverPlugin] | str] = {
    "asyncpg": "tripwire_drivers.asyncpg:AsyncpgPlugin",
    "sqlite3": "tripwire_drivers.sqlite3:Sqlite3Plugin",
}
# The `library` of built-in drivers not imported yet (see guarded_drivers);
# sqlite3 guards nothing, since many tools import the standard module.
_BUILT_IN_LIBRARIES: dict[str, str | None] = {"asyncpg": "asyncpg", "sqlite3": None}
# Entry-point drivers that failed to import: not retried at every sandbox.
_unimportable: set[str] = set()
_entry_points_loaded = False


def register_driver(plugin_class: type[DriverPlugin]) -> None:
    """Make *plugin_class* reachable as ``tripwire.<plugin_class.name>``.

    Registering a name taken by another driver fails.  A driver module that
    registers itself may also be listed in the ``tripwire.drivers`` entry
    point group: both name the same class, so that is not a conflict.
    """
    key = getattr(plugin_class, "name", None)
    if not isinstance(key, str) or not key.isidentifier():
        raise ConfigurationError(
            f"{plugin_class.__qualname__}.name must be a Python identifier, got {key!r}"
        )
    with _registry_lock:
        existing = _registry.get(key)
        same = existing is plugin_class or existing == _import_path(plugin_class)
        if existing is not None and not same:
            raise ConfigurationError(
                f"a driver named {key!r} is already registered ({_describe(existing)}); "
                "choose another name or unregister_driver() it first"
            )
        _registry[key] = plugin_class


def unregister_driver(name: str) -> None:
    """Forget the driver registered as *name*."""
    _load_entry_points()
    with _registry_lock:
        if name not in _registry:
            raise ConfigurationError(f"no driver named {name!r} is registered")
        del _registry[name]


def driver_names() -> list[str]:
    _load_entry_points()
    with _registry_lock:
        return sorted(_registry)


def get_driver(name: str) -> type[DriverPlugin] | None:
    """The registered driver class called *name*, importing it on first use."""
    entry = _registry.get(name)
    if entry is None:
        _load_entry_points()
        entry = _registry.get(name)
    if entry is None or not isinstance(entry, str):
        return entry
    module_name, _, attribute = entry.partition(":")
    loaded: type[DriverPlugin] = getattr(importlib.import_module(module_name), attribute)
    with _registry_lock:
        _registry[name] = loaded
    return loaded


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    # Imported here, not with tripwire: importlib.metadata costs more to
    # import than the rest of tripwire, and is needed only once a sandbox
    # opens or an unknown driver name is looked up.
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        with _registry_lock:
            if point.name in _registry:
                continue
            _registry[point.name] = point.value


def _import_path(plugin_class: type[DriverPlugin]) -> str:
    return f"{plugin_class.__module__}:{plugin_class.__qualname__}"


def _describe(entry: type[DriverPlugin] | str) -> str:
    return entry if isinstance(entry, str) else _import_path(entry)


def guarded_drivers() -> list[type[DriverPlugin]]:
    """Drivers every sandbox intercepts: those whose ``library`` is imported.

    A test that never touched ``tripwire.asyncpg`` still must not reach a
    real database from inside ``with tripwire:``.
    """
    _load_entry_points()
    with _registry_lock:
        entries = list(_registry.items())
    guarded = []
    for name, entry in entries:
        if isinstance(entry, str) and name not in _BUILT_IN_LIBRARIES:
            # A driver from an entry point says what it guards only once
            # imported; one that cannot be imported guards nothing.
            if name in _unimportable:
                continue
            try:
                entry = get_driver(name) or entry
            except ImportError:
                _unimportable.add(name)
                continue
        library = _BUILT_IN_LIBRARIES.get(name) if isinstance(entry, str) else entry.library
        if library is not None and library in sys.modules:
            driver = get_driver(name)
            if driver is not None:
                guarded.append(driver)
    return guarded
