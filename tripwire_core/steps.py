"""Steps: what a driver declares, and what a script holds."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType, MappingProxyType
from typing import Any

from .timeline import Interaction

__all__ = ["NOTHING", "ScriptedStep", "Step"]


class _Nothing:
    """Sentinel for "no value given" where ``None`` is a legitimate value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOTHING"

    def __bool__(self) -> bool:
        return False


NOTHING: Any = _Nothing()


@dataclass(frozen=True)
class Step:
    """One step of a driver's state machine.

    ``source`` lists the states where the step is legal; ``dest`` is the
    state it leads to, or ``None`` for a step that keeps the state.
    ``fields`` are the names an assertion of this step must always give (a
    driver may record more, such as keywords the caller passed).
    ``returns`` validates and converts a scripted value once, at ``expect()``
    time, and raises :class:`TypeError` or :class:`ValueError` to refuse it.
    A step with ``scripted=False`` is something the driver does by itself
    (an implicit ``BEGIN``, say): drivers run it with ``Session.transition``,
    tests cannot ``expect()`` it, and it records no interaction.
    """

    name: str
    source: str | Sequence[str]
    dest: str | None = None
    fields: tuple[str, ...] = ()
    returns: Callable[[Any], Any] | None = None
    returns_doc: str = "any value"
    scripted: bool = True

    @property
    def sources(self) -> tuple[str, ...]:
        return (self.source,) if isinstance(self.source, str) else tuple(self.source)


class ScriptedStep(Interaction):
    """A step queued in a session's script by ``expect()``.

    Once the code takes it, the step is recorded on the timeline as the
    interaction itself (with the ``fields`` of the call), so the per-call
    path allocates no object of its own.
    """

    __slots__ = ("_code", "_line", "after", "raises", "required", "returns")

    def __init__(
        self,
        step: str,
        returns: Any,
        raises: BaseException | type[BaseException] | None,
        required: bool,
        index: int,
        source: str = "",
        session: int = 0,
    ) -> None:
        self.step = step
        self.returns = returns
        self.raises = raises
        self.required = required
        self.step_index = index
        self.source = source
        self.session = session
        self.fields: Mapping[str, Any] = _NOT_CALLED
        self.asserted = False
        self.after: Callable[[], object] | None = None
        self._code, self._line = _caller_outside_tripwire()

    @property
    def registered_at(self) -> str:
        """``file:line`` of the ``expect()`` call that queued this step."""
        if self._code is None:
            return "<unknown>"
        return f"{self._code.co_filename}:{self._line}"


# The fields of a step not taken yet.
_NOT_CALLED: Mapping[str, Any] = MappingProxyType({})
_OWN_PACKAGES = frozenset({"tripwire", "tripwire_core", "tripwire_drivers"})


def _caller_outside_tripwire() -> tuple[CodeType | None, int | None]:
    # Only the code object and line are kept (and formatted when a message
    # needs them): a traceback per step would make long scripts slow to build.
    frame = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.partition(".")[0] not in _OWN_PACKAGES:
            return frame.f_code, frame.f_lineno
        back = frame.f_back
        if back is None:
            break
        frame = back
    return None, None
