"""Interception points, installed once however many sandboxes are open.

A :class:`Patch` knows how to install and undo one interception.  The
module-level registry counts users per patch key: the first sandbox that
needs a patch installs it, the last one to close removes it, and a failure
half-way through an install rolls back what was already installed.
"""

from __future__ import annotations

import functools
import inspect
import threading
import types
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["AttributePatch", "FunctionCodePatch", "Patch", "acquire_patch", "release_patch"]


class Patch:
    """Base class: one interception point that can be installed and undone."""

    @property
    def key(self) -> Hashable:
        """Identity of the patched target: two patches with one key are one."""
        raise NotImplementedError

    def install(self) -> None:
        raise NotImplementedError

    def uninstall(self) -> None:
        raise NotImplementedError


class AttributePatch(Patch):
    """Replace ``owner.name`` with *replacement* while installed."""

    def __init__(self, owner: Any, name: str, replacement: Any) -> None:
        self.owner = owner
        self.name = name
        self.replacement = replacement
        self._original: Any = None

    @property
    def key(self) -> Hashable:
        return ("attribute", id(self.owner), self.name)

    def install(self) -> None:
        self._original = getattr(self.owner, self.name)
        setattr(self.owner, self.name, self.replacement)

    def uninstall(self) -> None:
        setattr(self.owner, self.name, self._original)


class FunctionCodePatch(Patch):
    """Redirect a Python function to *dispatch* by swapping its code object.

    Every reference to the function sees the redirect, including names bound
    by ``from module import function`` before the patch was installed, which
    an attribute patch cannot reach.  The swapped-in code calls
    ``dispatch(original, *args, **kwargs)``, where ``original`` is an
    untouched copy of the function that the dispatcher may call through to.
    """

    def __init__(self, function: Callable[..., Any], dispatch: Callable[..., Any]) -> None:
        if not isinstance(function, types.FunctionType):
            raise TypeError(f"FunctionCodePatch needs a Python function, got {function!r}")
        if function.__closure__:
            raise TypeError(f"cannot redirect {function.__qualname__}: it is a closure")
        self.function = function
        self.dispatch = dispatch
        self.original = _copy_function(function)
        self._global = f"__tripwire_dispatch_{id(function):x}__"
        self._saved: tuple[types.CodeType, dict[str, Any] | None] | None = None

    @property
    def key(self) -> Hashable:
        return ("code", id(self.function))

    def install(self) -> None:
        function = self.function
        original = self.original
        dispatch = self.dispatch
        # The trampoline reads the dispatcher from the patched function's own
        # module globals, under a name no real module uses.
        function.__globals__[self._global] = lambda *a, **k: dispatch(original, *a, **k)
        self._saved = (function.__code__, function.__kwdefaults__)
        function.__code__ = _trampoline_code(
            self._global, function.__code__.co_name, inspect.iscoroutinefunction(function)
        )

    def uninstall(self) -> None:
        if self._saved is None:
            return
        self.function.__code__, self.function.__kwdefaults__ = self._saved
        self.function.__globals__.pop(self._global, None)
        self._saved = None


@functools.cache
def _trampoline_code(dispatcher: str, name: str, is_async: bool) -> types.CodeType:
    # Compiled from source so the code object has no free variables and can
    # be assigned to any function without a closure.  Code objects are
    # immutable: one per (dispatcher, name) serves every sandbox.
    if is_async:
        source = (
            f"async def {name}(*args, **kwargs):\n    return await {dispatcher}(*args, **kwargs)\n"
        )
    else:
        source = f"def {name}(*args, **kwargs):\n    return {dispatcher}(*args, **kwargs)\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, "<tripwire trampoline>", "exec"), namespace)
    code: types.CodeType = namespace[name].__code__
    return code


def _copy_function(function: types.FunctionType) -> types.FunctionType:
    copy = types.FunctionType(
        function.__code__,
        function.__globals__,
        function.__name__,
        function.__defaults__,
        function.__closure__,
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__qualname__ = function.__qualname__
    copy.__module__ = function.__module__
    copy.__doc__ = function.__doc__
    return copy


_lock = threading.Lock()
_installed: dict[Hashable, tuple[Patch, int]] = {}


def acquire_patch(patch: Patch) -> Patch:
    """Install *patch* unless one with its key is installed; count the user.

    Returns the patch that is actually installed, to hand back to
    :func:`release_patch`.
    """
    with _lock:
        entry = _installed.get(patch.key)
        if entry is None:
            patch.install()
            _installed[patch.key] = (patch, 1)
            return patch
        active, users = entry
        _installed[patch.key] = (active, users + 1)
        return active


def release_patch(patch: Patch) -> None:
    """Forget one user of *patch*; the last one uninstalls it."""
    with _lock:
        active, users = _installed[patch.key]
        if users > 1:
            _installed[patch.key] = (active, users - 1)
            return
        del _installed[patch.key]
        active.uninstall()
