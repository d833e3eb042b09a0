"""Sessions: the script of one connection, and its state while it runs.

A :class:`SessionHandle` is what the test holds to script a session; a
:class:`Session` is what the driver's fake object calls into.  The hot path,
:meth:`Session.call`, checks the three things the toolkit guarantees, in
order, and records the interaction: about a microsecond of work.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._format import call_text, names
from .errors import (
    ConfigurationError,
    InvalidStateError,
    RefusalError,
    SandboxClosedError,
    StepMismatchError,
    UnmockedInteractionError,
)
from .sandbox import current_sandbox
from .steps import NOTHING, ScriptedStep

if TYPE_CHECKING:
    from typing_extensions import Self

    from .driver import DriverPlugin
    from .sandbox import Sandbox

__all__ = ["Session", "SessionHandle"]

_NO_FIELDS: Mapping[str, Any] = {}


class Session:
    """One scripted connection: its script, its state, its sandbox."""

    __slots__ = (
        "__weakref__",
        "_record",
        "_source",
        "_table",
        "number",
        "plugin",
        "queue",
        "sandbox",
        "script",
        "state",
        "total",
        "used",
    )

    def __init__(
        self,
        plugin: DriverPlugin,
        number: int,
        queue: str = "default",
        initial: str | None = None,
    ) -> None:
        self.plugin = plugin
        self.number = number
        self.queue = queue
        self.script: deque[ScriptedStep] = deque()
        self.total = 0
        self.used = 0
        self.state = plugin.machine.initial if initial is None else initial
        self.sandbox: Sandbox | None = None
        self._table = plugin.machine.table
        self._record = plugin.verifier.timeline.recorder
        self._source = plugin.name

    def __repr__(self) -> str:
        return f"<{self.plugin.name} session #{self.number} state={self.state!r}>"

    @property
    def label(self) -> str:
        return f"{self.plugin.name} session #{self.number}"

    def call(self, step: str, fields: Mapping[str, Any]) -> Any:
        """Run *step* with the recorded *fields*; return or raise what was scripted."""
        sandbox = self.sandbox
        if sandbox is None or not sandbox.active:
            raise self._sandbox_closed(step, fields)
        state = self._table[step].get(self.state)
        if state is None:
            raise self._invalid_state(step, fields)
        script = self.script
        if not script:
            raise self._exhausted(step, fields)
        scripted = script[0]
        if scripted.step != step:
            scripted = self._skip_optional(step, fields)
        script.popleft()
        self.used = scripted.step_index
        scripted.fields = fields
        self._record(scripted)
        if scripted.after is not None:
            scripted.after()
        # The step stays on the timeline as the interaction; what it returned
        # or raised is let go, so a long session keeps no results alive.
        raises, scripted.raises = scripted.raises, None
        if raises is not None:
            # A call that fails does not move the connection: a refused
            # connect stays disconnected, a failed COMMIT keeps the transaction.
            raise raises
        self.state = state
        returns, scripted.returns = scripted.returns, None
        return returns

    def check_sandbox(self, step: str, fields: Mapping[str, Any] = _NO_FIELDS) -> None:
        """Refuse *step* if the connection's sandbox has closed."""
        sandbox = self.sandbox
        if sandbox is None or not sandbox.active:
            raise self._sandbox_closed(step, fields)

    def check(self, step: str, fields: Mapping[str, Any]) -> None:
        """Refuse *step* now if the state machine forbids it, without running it.

        For driver methods that validate before doing anything (say, a
        client-side argument check) and must report the state first.
        """
        self.check_sandbox(step, fields)
        if self.state not in self._table[step]:
            raise self._invalid_state(step, fields)

    def transition(self, step: str) -> None:
        """Take an unscripted step (``Step(scripted=False)``): state only.

        Raises :class:`InvalidStateError` if the machine forbids it here.
        """
        self.check(step, {})
        self.state = self._table[step][self.state]

    # Refusals: built only when a call is refused.

    def _skip_optional(self, step: str, fields: Mapping[str, Any]) -> ScriptedStep:
        # Optional steps the code did not take are dropped, up to the first
        # step that matches the call or a required step that does not.
        for scripted in self.script:
            if scripted.step == step:
                while self.script[0] is not scripted:
                    self.script.popleft()
                return scripted
            if scripted.required:
                break
        skippable = []
        expected = self.script[0]
        for scripted in self.script:
            expected = scripted
            if scripted.required:
                break
            skippable.append(scripted.step)
        optional = (
            f" (after optional {', '.join(skippable)}, which may be skipped)" if skippable else ""
        )
        raise self._refusal(
            StepMismatchError,
            f"{self.label}: expected step {expected.step_index} of {self.total}: {expected.step}"
            f"{optional}, got {call_text(step, fields)}.\n"
            f"The script (registered at {expected.registered_at}) says {expected.step} comes next;"
            f" script the calls in the order the code makes them.",
        )

    def _invalid_state(self, step: str, fields: Mapping[str, Any]) -> RefusalError:
        machine = self.plugin.machine
        legal_in = machine.sources.get(step, ())
        return self.plugin.refuse(
            InvalidStateError,
            f"{self.label} is in state {self.state!r}: {call_text(step, fields)} is not "
            f"allowed there.\n{step} is legal in: {names(legal_in)}; "
            f"legal now: {names(machine.legal_steps[self.state])}.",
            state=self.state,
            step=step,
        )

    def _exhausted(self, step: str, fields: Mapping[str, Any]) -> RefusalError:
        return self._refusal(
            UnmockedInteractionError,
            f"{self.label}: script exhausted after {self.used}/{self.total} steps; "
            f"{call_text(step, fields)} was not scripted.\n"
            f'Add it to the session: .expect("{step}", returns=...)',
        )

    def _sandbox_closed(self, step: str, fields: Mapping[str, Any]) -> RefusalError:
        error = self._refusal(
            SandboxClosedError,
            f"{self.label}: {call_text(step, fields)} was called after the sandbox that "
            f"created this connection closed.\n"
            "Keep the code that uses the connection inside `with tripwire:`.",
        )
        # A connection cached across tests fails the test that reuses it,
        # not only the finished test that made it.
        caller = current_sandbox()
        if caller is not None and caller.verifier is not self.plugin.verifier:
            caller.verifier.record_refusal(error)
        return error

    def _refusal(self, kind: type[RefusalError], message: str) -> RefusalError:
        return self.plugin.refuse(kind, message)


class SessionHandle:
    """Scripts one session: chain :meth:`expect` calls in the order they happen."""

    __slots__ = ("_session",)

    def __init__(self, session: Session) -> None:
        self._session = session

    def __repr__(self) -> str:
        steps = ", ".join(s.step for s in self._session.script)
        return f"<SessionHandle {self._session.label}: {steps or 'empty'}>"

    @property
    def session(self) -> Session:
        return self._session

    def then(self, callback: Callable[[], object]) -> Self:
        """Run *callback* right after the last expected step is taken.

        For events the driver delivers by itself at that point in the
        script, such as a notification arriving after a query.
        """
        script = self._session.script
        if not script:
            raise ConfigurationError("then() follows an expect(): script a step first")
        previous = script[-1].after
        if previous is None:
            script[-1].after = callback
        else:
            script[-1].after = lambda: (previous(), callback())
        return self

    def expect(
        self,
        method: str,
        *,
        returns: Any = NOTHING,
        raises: BaseException | type[BaseException] | None = None,
        required: bool = True,
    ) -> Self:
        """Queue the next call the connection will receive.

        ``returns`` is what the call returns; ``raises`` an exception (class
        or instance) it raises instead.  A step with ``required=False`` may
        go unused without failing the test.
        """
        session = self._session
        plugin = session.plugin
        spec = plugin.machine.steps.get(method)
        if spec is None or not spec.scripted:
            scriptable = [name for name, s in plugin.machine.steps.items() if s.scripted]
            what = "no step" if spec is None else "an implicit step (not scriptable)"
            raise ConfigurationError(
                f"{plugin.name} has {what} {method!r}; valid steps: {', '.join(scriptable)}"
            )
        if raises is not None and not (
            isinstance(raises, BaseException)
            or (isinstance(raises, type) and issubclass(raises, BaseException))
        ):
            raise ConfigurationError(
                f"expect({method!r}, raises=...) needs an exception class or instance, "
                f"got {raises!r}"
            )
        if isinstance(raises, type):
            raises = _instantiate(method, raises)
        if returns is NOTHING:
            if raises is None:
                raise ConfigurationError(
                    f"expect({method!r}) needs returns= ({spec.returns_doc}) or raises="
                )
            returns = None
        elif spec.returns is not None:
            try:
                returns = spec.returns(returns)
            except (TypeError, ValueError) as exc:
                raise ConfigurationError(
                    f"expect({method!r}, returns={returns!r}) is refused: {exc}. "
                    f"{method} returns {spec.returns_doc}."
                ) from None
        session.total += 1
        session.script.append(
            ScriptedStep(
                method, returns, raises, required, session.total, plugin.name, session.number
            )
        )
        return self


def _instantiate(method: str, error_class: type[BaseException]) -> BaseException:
    # Done now, so a class that needs arguments fails at expect(), not later
    # inside the code under test.
    try:
        error = error_class()
        str(error)
    except Exception as exc:
        raise ConfigurationError(
            f"expect({method!r}, raises={error_class.__name__}) cannot make an instance "
            f"({type(exc).__name__}: {exc}); pass one: "
            f"raises={error_class.__name__}('what happened')"
        ) from None
    return error
