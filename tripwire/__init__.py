"""tripwire: strict, state-machine mocks for database drivers.

``tripwire.<driver>`` (``tripwire.asyncpg``, ``tripwire.sqlite3``, or any
registered driver) is the current test's plugin for that driver, created on
first use; ``with tripwire:`` (or ``async with``) runs the code under test
against the fakes.  Drivers are imported only when first used.
"""

from __future__ import annotations

import contextvars
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from tripwire_core import (
    ClientCheckError,
    ConfigurationError,
    DriverPlugin,
    InteractionMismatchError,
    InvalidStateError,
    LeakedResourcesError,
    MissingAssertionFieldsError,
    NotSupportedError,
    RefusalError,
    Sandbox,
    SandboxClosedError,
    StepMismatchError,
    StrictVerifier,
    TripwireError,
    UnacknowledgedRefusalsError,
    UnassertedInteractionsError,
    UnmockedInteractionError,
    UnusedMocksError,
    VerificationError,
    current_verifier,
    driver_names,
    get_driver,
    unregister_driver,
)
from tripwire_core import register_driver as _register_driver

if TYPE_CHECKING:
    from tripwire_drivers.asyncpg import AsyncpgPlugin
    from tripwire_drivers.sqlite3 import Sqlite3Plugin

    asyncpg: AsyncpgPlugin
    sqlite3: Sqlite3Plugin

__all__ = [
    # running and verifying
    "sandbox",
    "in_any_order",
    "acknowledge_refusals",
    "StrictVerifier",
    "Sandbox",
    "current_verifier",
    # drivers
    "DriverPlugin",
    "register_driver",
    "unregister_driver",
    "driver_names",
    # errors
    "TripwireError",
    "ConfigurationError",
    "RefusalError",
    "InvalidStateError",
    "UnmockedInteractionError",
    "StepMismatchError",
    "SandboxClosedError",
    "ClientCheckError",
    "NotSupportedError",
    "VerificationError",
    "UnassertedInteractionsError",
    "UnusedMocksError",
    "InteractionMismatchError",
    "MissingAssertionFieldsError",
    "UnacknowledgedRefusalsError",
    "LeakedResourcesError",
]


def register_driver(plugin_class: type[DriverPlugin]) -> None:
    """Make *plugin_class* reachable as ``tripwire.<plugin_class.name>``.

    Refuses a name this module already uses (``tripwire.sandbox`` and the
    like), since the driver could never be reached under it.
    """
    name = getattr(plugin_class, "name", None)
    if isinstance(name, str) and name in _RESERVED:
        raise ConfigurationError(
            f"{name!r} cannot name a driver: tripwire.{name} is already part of tripwire's API"
        )
    _register_driver(plugin_class)


def sandbox() -> Sandbox:
    """A sandbox on the current test's verifier (``with tripwire.sandbox():``)."""
    return current_verifier().sandbox()


@contextmanager
def in_any_order() -> Iterator[None]:
    """Within this block, the current test's assertions may come in any order."""
    with current_verifier().in_any_order():
        yield


def acknowledge_refusals(kind: type[BaseException] = RefusalError) -> list[RefusalError]:
    """Accept the refusals the test provoked on purpose; returns them."""
    return current_verifier().acknowledge_refusals(kind)


# The sandboxes opened by `with tripwire:` in this context, innermost last;
# a ContextVar so concurrent tasks each close their own.
_entered: contextvars.ContextVar[tuple[Sandbox, ...]] = contextvars.ContextVar(
    "tripwire_entered", default=()
)


class _TripwireModule(types.ModuleType):
    """Lets the module itself be used as ``with tripwire:``."""

    def __enter__(self) -> Sandbox:
        opened = sandbox()
        opened.open()
        _entered.set((*_entered.get(), opened))
        return opened

    def __exit__(self, *exc_info: object) -> None:
        stack = _entered.get()
        _entered.set(stack[:-1])
        stack[-1].close()

    async def __aenter__(self) -> Sandbox:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__(*exc_info)


def __getattr__(name: str) -> Any:
    driver = get_driver(name) if not name.startswith("__") else None
    if driver is None:
        raise AttributeError(
            f"module 'tripwire' has no attribute {name!r}; "
            f"registered drivers: {', '.join(driver_names())}"
        )
    # Later lookups of this name find the descriptor and skip this function.
    setattr(_TripwireModule, name, _DriverAttribute(name))
    return current_verifier().plugin(driver)


class _DriverAttribute:
    """``tripwire.<driver>``, as a descriptor of the module's class (a fast lookup)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, module: object, owner: type | None = None) -> Any:
        if module is None:
            return self
        driver = get_driver(self.name)
        if driver is None:  # unregistered since
            return __getattr__(self.name)
        return current_verifier().plugin(driver)

    def __set__(self, module: object, value: object) -> None:
        raise AttributeError(f"tripwire.{self.name} is the current test's driver plugin")


_RESERVED = frozenset(name for name in globals() if not name.startswith("__")) | {"plugins"}
sys.modules[__name__].__class__ = _TripwireModule
