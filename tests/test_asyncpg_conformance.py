"""The fakes against installed asyncpg's API: same signatures, or refused on purpose.

For every public method (and the protocol dunders) of asyncpg's Connection,
Pool, PoolAcquireContext, Transaction, PreparedStatement, Cursor and
CursorFactory, the matching fake either implements it with the same
signature and the same sync/async shape, or refuses it by name and lists
it in :data:`REFUSED`.  A new asyncpg release that adds or changes a method
fails here.  Print the status of every method with::

    python -m tests.test_asyncpg_conformance
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
import asyncpg.connection
import asyncpg.cursor
import asyncpg.pool
import asyncpg.prepared_stmt
import asyncpg.transaction
import pytest

from tripwire import NotSupportedError, StrictVerifier
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin

#: Each faked asyncpg class: the real class and the module of its fake (same class name).
FAKED: dict[str, tuple[type, str]] = {
    "Connection": (asyncpg.connection.Connection, "connection"),
    "Pool": (asyncpg.pool.Pool, "pool"),
    "PoolAcquireContext": (asyncpg.pool.PoolAcquireContext, "pool"),
    "Transaction": (asyncpg.transaction.Transaction, "transaction"),
    "PreparedStatement": (asyncpg.prepared_stmt.PreparedStatement, "prepared"),
    "Cursor": (asyncpg.cursor.Cursor, "cursor"),
    "CursorFactory": (asyncpg.cursor.CursorFactory, "cursor"),
}

PROTOCOL = ("__aenter__", "__aexit__", "__await__", "__aiter__", "__anext__")

#: Methods each fake refuses on purpose (calling one raises NotSupportedError naming it).
REFUSED: dict[str, frozenset[str]] = {
    "Connection": frozenset({"add_query_logger", "query_logger", "remove_query_logger"}),
    "Pool": frozenset(),
    "PoolAcquireContext": frozenset(),
    "Transaction": frozenset(),
    "PreparedStatement": frozenset(),
    "Cursor": frozenset(),
    "CursorFactory": frozenset(),
}

#: Fakes still being written: their cases are expected to fail with FakeNotBuiltError
#: only, so each flips to a failure (XPASS strict) once the class lands.
NOT_BUILT: frozenset[str] = frozenset()


class FakeNotBuiltError(Exception):
    """The fake class for an asyncpg class does not exist yet."""


def not_built(name: str) -> list[Any]:
    """The marks of a case about *name*: xfail (only by FakeNotBuiltError) while it is missing."""
    if name not in NOT_BUILT:
        return []
    return [pytest.mark.xfail(strict=True, raises=FakeNotBuiltError, reason="not built yet")]


def fake_class(name: str) -> type | None:
    """The fake for asyncpg's class *name*, looked up in its feature module."""
    module = importlib.import_module(f"tripwire_drivers.asyncpg.{FAKED[name][1]}")
    found = getattr(module, name, None)
    # The module may import asyncpg's class of that name; only its own class counts.
    if isinstance(found, type) and found.__module__ == module.__name__:
        return found
    return None


def require_fake(name: str) -> type:
    found = fake_class(name)
    if found is None:
        module = FAKED[name][1]
        raise FakeNotBuiltError(f"tripwire_drivers/asyncpg/{module}.py defines no class {name}")
    return found


def public_methods(cls: type) -> list[str]:
    """The callables asyncpg's *cls* offers: public methods and present protocol dunders."""
    names = []
    for name in dir(cls):
        if name.startswith("_") and name not in PROTOCOL:
            continue
        if callable(inspect.getattr_static(cls, name)):
            names.append(name)
    return sorted(names)


def defined(cls: type, name: str) -> Any:
    """*name* as tripwire's class *cls* defines it, or ``None``.

    ``__getattr__`` refusals do not count, and neither does a method a fake
    inherits from the asyncpg class it subclasses: that would run asyncpg's code.
    """
    for klass in cls.__mro__:
        if name in vars(klass):
            return vars(klass)[name] if klass.__module__.startswith("tripwire") else None
    return None


def inherited(cls: type, name: str) -> str | None:
    """The asyncpg class *cls* inherits *name* from, if it does."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return None if klass.__module__.startswith("tripwire") else klass.__qualname__
    return None


def descriptor_kind(value: Any) -> str:
    for kind in (staticmethod, classmethod, property):
        if isinstance(value, kind):
            return kind.__name__
    return "function" if inspect.isfunction(value) else type(value).__name__


def parameters(function: Any) -> list[tuple[str, str, Any]]:
    signature = inspect.signature(function)
    return [(p.name, p.kind.name, p.default) for p in signature.parameters.values()]


def shape(function: Any) -> str:
    if inspect.isasyncgenfunction(function):
        return "async generator function"
    if inspect.iscoroutinefunction(function):
        return "coroutine function (async def)"
    unwrapped = inspect.unwrap(function)
    if unwrapped is not function and inspect.iscoroutinefunction(unwrapped):
        # asyncpg's guarded methods: a plain call that checks, then returns a coroutine.
        return "plain function returning a coroutine (checks run at call time)"
    return "plain function"


def shape_matches(real: Any, fake: Any) -> bool:
    return inspect.iscoroutinefunction(real) == inspect.iscoroutinefunction(
        fake
    ) and inspect.isasyncgenfunction(real) == inspect.isasyncgenfunction(fake)


def method_cases() -> Iterator[Any]:
    for name, (real, _) in FAKED.items():
        marks = not_built(name)
        for method in public_methods(real):
            yield pytest.param(name, method, marks=marks, id=f"{name}.{method}")


def absent_protocol_cases() -> Iterator[Any]:
    for name, (real, _) in FAKED.items():
        marks = not_built(name)
        for dunder in PROTOCOL:
            if inspect.getattr_static(real, dunder, None) is None:
                yield pytest.param(name, dunder, marks=marks, id=f"{name}.{dunder}")


@pytest.mark.parametrize(("name", "method"), list(method_cases()))
def test_method_is_faked_with_asyncpgs_signature_or_refused(name: str, method: str) -> None:
    real_class = FAKED[name][0]
    fake = require_fake(name)
    real = inspect.getattr_static(real_class, method)
    mine = defined(fake, method)
    refused = method in REFUSED[name]
    if mine is None:
        source = inherited(fake, method)
        assert source is None or refused, (
            f"tripwire's {name} inherits {method}() from asyncpg's {source}, which would run "
            "asyncpg's own code on the fake: implement it or refuse it"
        )
        assert refused, (
            f"asyncpg.{name}.{method}() is neither implemented by tripwire's {name} fake nor "
            f"listed in REFUSED[{name!r}] of this test: implement it with asyncpg's signature "
            f"{inspect.signature(real)} ({shape(real)}), or refuse it by name and list it"
        )
        assert method not in PROTOCOL, (
            f"{name}.{method} cannot be refused through __getattr__ (Python looks protocol "
            "methods up on the class): define it, raising NotSupportedError"
        )
        return
    assert descriptor_kind(mine) == descriptor_kind(real), (
        f"{name}.{method} is a {descriptor_kind(mine)} in the fake but a "
        f"{descriptor_kind(real)} in asyncpg"
    )
    assert parameters(mine) == parameters(real), (
        f"{name}.{method} signature differs: fake {inspect.signature(mine)}, "
        f"asyncpg {inspect.signature(real)}"
    )
    assert shape_matches(real, mine), (
        f"{name}.{method} is a {shape(mine)} in the fake but a {shape(real)} in asyncpg"
    )


@pytest.mark.parametrize(("name", "dunder"), list(absent_protocol_cases()))
def test_fake_lacks_the_protocols_asyncpg_lacks(name: str, dunder: str) -> None:
    fake = require_fake(name)
    assert defined(fake, dunder) is None, (
        f"tripwire's {name} defines {dunder} but asyncpg.{name} does not: code that works "
        "against the fake would fail against asyncpg"
    )


@pytest.mark.parametrize("name", [pytest.param(n, marks=not_built(n)) for n in FAKED])
def test_fake_adds_no_public_method(name: str) -> None:
    fake = require_fake(name)
    real = FAKED[name][0]
    extra = [
        attr
        for attr in dir(fake)
        if not attr.startswith("_")
        and callable(defined(fake, attr))
        and inspect.getattr_static(real, attr, None) is None
    ]
    assert extra == [], f"tripwire's {name} has public methods asyncpg.{name} lacks: {extra}"


def test_refused_tables_name_only_asyncpg_methods() -> None:
    for name, methods in REFUSED.items():
        unknown = sorted(methods - set(public_methods(FAKED[name][0])))
        assert unknown == [], f"REFUSED[{name!r}] names methods asyncpg.{name} lacks: {unknown}"


# Refusals, checked by calling each refused method on a fake made the usual way.


async def make_fake(name: str, apg: AsyncpgPlugin) -> Any:
    """A fake instance of asyncpg's class *name*; call inside a sandbox."""
    if name in ("Pool", "PoolAcquireContext"):
        apg.new_pool().expect("create_pool", returns=None)
        pool = await asyncpg.create_pool()
        return pool if name == "Pool" else pool.acquire()
    session = apg.new_session().expect("connect", returns=None)
    if name == "PreparedStatement":
        session.expect("prepare", returns=None)
    if name == "Cursor":
        session.expect("begin", returns=None).expect("cursor", returns=[])
    conn = await asyncpg.connect()
    if name == "Connection":
        return conn
    if name == "Transaction":
        return conn.transaction()
    if name == "PreparedStatement":
        return await conn.prepare("SELECT 1")
    if name == "CursorFactory":
        return conn.cursor("SELECT 1")
    await conn.transaction().start()
    return await conn.cursor("SELECT 1")


@pytest.mark.parametrize("name", [pytest.param(n, marks=not_built(n)) for n in FAKED])
async def test_make_fake_builds_each_fake(
    verifier: StrictVerifier, apg: AsyncpgPlugin, name: str
) -> None:
    # The refusal checks below build their instances here.
    fake = require_fake(name)
    async with verifier.sandbox():
        assert isinstance(await make_fake(name, apg), fake)


def placeholders(function: Callable[..., Any]) -> tuple[list[Any], dict[str, Any]]:
    """``None`` for each required parameter of *function* (an unbound method)."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in list(inspect.signature(function).parameters.values())[1:]:
        if parameter.default is not inspect.Parameter.empty:
            continue
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            args.append(None)
        elif parameter.kind is parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = None
    return args, kwargs


def refused_cases() -> Iterator[Any]:
    for name, methods in REFUSED.items():
        for method in sorted(methods):
            yield pytest.param(name, method, id=f"{name}.{method}")


@pytest.mark.parametrize(("name", "method"), list(refused_cases()))
async def test_refused_method_raises_not_supported_naming_it(
    verifier: StrictVerifier, apg: AsyncpgPlugin, name: str, method: str
) -> None:
    real = getattr(FAKED[name][0], method)
    args, kwargs = placeholders(real)
    async with verifier.sandbox():
        fake = await make_fake(name, apg)
        assert hasattr(fake, method), f"{name}.{method} must exist (hasattr), as on asyncpg"
        try:
            result = getattr(fake, method)(*args, **kwargs)
            if inspect.isawaitable(result):
                await result
        except NotSupportedError as error:
            refusal: BaseException = error
        except Exception as error:
            refusal = error
        else:
            refusal = AssertionError("it returned")
    assert isinstance(refusal, NotSupportedError), (
        f"{name}.{method} is listed in REFUSED but calling it did not raise NotSupportedError "
        f"({type(refusal).__name__}: {refusal}); if it is implemented now, take it out of "
        f"REFUSED[{name!r}]"
    )
    assert re.search(rf"\b{re.escape(method)}\b", str(refusal)), (
        f"the refusal of {name}.{method} does not name it: {refusal}"
    )
    assert refusal in verifier.acknowledge_refusals(NotSupportedError)


# The status list.


def method_status() -> list[tuple[str, str, str]]:
    """``(class, method, status)`` for every asyncpg method the fakes answer for."""
    rows = []
    for name, (real, _) in FAKED.items():
        fake = fake_class(name)
        for method in public_methods(real):
            if fake is None:
                status = "not built yet"
            elif method in REFUSED[name]:
                status = "refused"
            elif defined(fake, method) is not None:
                status = "supported"
            else:
                status = "MISSING (neither implemented nor refused)"
            rows.append((name, method, status))
    return rows


def status_report() -> str:
    """The status list as text, one line per method, grouped by class."""
    lines = [f"asyncpg {asyncpg.__version__}: methods and tripwire's status"]
    current = None
    for name, method, status in method_status():
        if name != current:
            current = name
            lines.append(f"\n{name}")
        lines.append(f"  {method:<30} {status}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(status_report())
