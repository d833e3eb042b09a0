"""The verifier: one per test, it owns the timeline and judges the test.

It enforces the three guarantees once the code under test has run: every
interaction asserted, every required step used, and nothing refused that the
test did not acknowledge.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from ._format import assertion_text, call_text, plural, value_text
from .errors import (
    ConfigurationError,
    InteractionMismatchError,
    LeakedResourcesError,
    MissingAssertionFieldsError,
    RefusalError,
    UnacknowledgedRefusalsError,
    UnassertedInteractionsError,
    UnusedMocksError,
    VerificationError,
)
from .sandbox import Sandbox
from .sandbox import open_sandboxes as all_open_sandboxes
from .timeline import Interaction, Timeline

if TYPE_CHECKING:
    from .driver import DriverPlugin

__all__ = ["StrictVerifier", "current_verifier", "latest_verifier", "use_verifier"]

PluginT = TypeVar("PluginT", bound="DriverPlugin")


class _NotRecorded:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<not recorded>"


_NOT_RECORDED = _NotRecorded()


class StrictVerifier:
    """Collects a test's interactions and verifies them.

    Use one per test.  Under pytest the tripwire plugin makes it for you
    (fixture ``tripwire_verifier``); elsewhere::

        verifier = StrictVerifier()
        apg = AsyncpgPlugin(verifier)
        with verifier.sandbox():
            ...
        verifier.verify_all()
    """

    def __init__(self) -> None:
        self.timeline = Timeline()
        self._plugins: dict[type[DriverPlugin], DriverPlugin] = {}
        # Plugins made on demand (a guarded driver, a proxy lookup); an
        # explicit constructor call may still take their place.
        self._implicit: set[type[DriverPlugin]] = set()
        self._refusals: list[RefusalError] = []
        self._any_order = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<StrictVerifier {len(self.timeline)} interactions, {len(self._plugins)} drivers>"

    # Plugins

    @property
    def plugins(self) -> Sequence[DriverPlugin]:
        return tuple(self._plugins.values())

    def attach(self, plugin: DriverPlugin) -> None:
        """Called by :class:`DriverPlugin` itself; one plugin per driver class."""
        with self._lock:
            existing = self._plugins.get(type(plugin))
            if existing is not None and type(plugin) in self._implicit and not existing.sessions:
                self._implicit.discard(type(plugin))
                self._plugins[type(plugin)] = plugin
                return
            if existing is not None:
                raise ValueError(
                    f"{type(plugin).__name__} is already attached to this verifier; use that "
                    "one (a verifier has at most one plugin per driver)"
                )
            self._plugins[type(plugin)] = plugin
        for sandbox in self.open_sandboxes:
            sandbox.install(plugin)

    def plugin(self, plugin_class: type[PluginT]) -> PluginT:
        """The verifier's plugin of *plugin_class*, created on first use."""
        existing = self._plugins.get(plugin_class)
        if existing is None:
            try:
                created = plugin_class(self)
            except ValueError:
                existing = self._plugins[plugin_class]
            else:
                self._implicit.add(plugin_class)
                return created
        assert isinstance(existing, plugin_class)
        return existing

    # Sandboxes

    def sandbox(self) -> Sandbox:
        """A context manager (``with`` or ``async with``) that runs the fakes."""
        return Sandbox(self)

    @property
    def open_sandboxes(self) -> Sequence[Sandbox]:
        """This verifier's sandboxes that are open, oldest first."""
        return tuple(s for s in all_open_sandboxes() if s.verifier is self)

    # Refusals

    def record_refusal(self, refusal: RefusalError) -> None:
        with self._lock:
            self._refusals.append(refusal)

    def acknowledge_refusals(self, kind: type[BaseException] = RefusalError) -> list[RefusalError]:
        """Accept the refusals of *kind* so far: the test provoked them on purpose.

        Returns them, oldest first, so the test can assert on their messages.
        """
        acknowledged = []
        for refusal in self._refusals:
            if not refusal.acknowledged and isinstance(refusal, kind):
                refusal.acknowledged = True
                acknowledged.append(refusal)
        return acknowledged

    # Assertions

    @contextmanager
    def in_any_order(self) -> Iterator[None]:
        """Within this block, assertions may come in any order."""
        self._any_order += 1
        try:
            yield
        finally:
            self._any_order -= 1

    def assert_interaction(
        self,
        source: str,
        step: str,
        fields: Mapping[str, Any],
        required: Sequence[str] = (),
    ) -> Interaction:
        """Assert the next interaction (or, in any order, a matching one)."""
        __tracebackhide__ = True
        if self._any_order:
            return self._assert_any_order(source, step, fields, required)
        interaction = self.timeline.next_unasserted()
        if interaction is None:
            raise InteractionMismatchError(
                f"{call_text(source + '.' + step, fields)} was asserted, "
                "but every recorded interaction has already been asserted."
            )
        if interaction.source != source or interaction.step != step:
            raise InteractionMismatchError(
                f"the next interaction is {interaction.source}."
                f"{call_text(interaction.step, interaction.fields)}, "
                f"not {source}.{step}.\nAssert interactions in the order they happened; "
                f"the next one is:\n    "
                f"{assertion_text(interaction.source, interaction.step, interaction.fields)}"
                "\nor wrap the assertions in `with tripwire.in_any_order():`."
            )
        _check_fields(self.timeline, interaction, fields, required)
        interaction.asserted = True
        return interaction

    def _assert_any_order(
        self, source: str, step: str, fields: Mapping[str, Any], required: Sequence[str]
    ) -> Interaction:
        __tracebackhide__ = True
        first_error: VerificationError | None = None
        for interaction in self.timeline.candidates(source, step):
            try:
                _check_fields(self.timeline, interaction, fields, required)
            except VerificationError as exc:
                first_error = first_error or exc
                continue
            interaction.asserted = True
            return interaction
        if first_error is not None:
            raise first_error
        raise InteractionMismatchError(
            f"{call_text(source + '.' + step, fields)} was asserted, "
            f"but no unasserted {source}.{step} interaction is left."
        )

    # Verification

    def verify_all(self) -> None:
        """Raise if anything was refused, left unasserted or left unused."""
        __tracebackhide__ = True
        failures: list[VerificationError] = []
        refused = [r for r in self._refusals if not r.acknowledged]
        if refused:
            failures.append(_refusals_error(refused))
        unasserted = self.timeline.unasserted()
        if unasserted:
            failures.append(_unasserted_error(unasserted))
        unused = [
            (session, step)
            for plugin in self._plugins.values()
            for session in plugin.sessions
            for step in session.script
            if step.required
        ]
        if unused:
            failures.append(_unused_error(unused))
        leaked = [line for plugin in self._plugins.values() for line in plugin.leftovers()]
        if leaked:
            failures.append(
                LeakedResourcesError(
                    f"{plural(len(leaked), 'resource was', 'resources were')} left open at the "
                    "end of the test:\n" + "\n".join(f"  - {line}" for line in leaked)
                )
            )
        if not failures:
            return
        if len(failures) == 1:
            raise failures[0]
        # One error that is an instance of every failed check's class, so
        # `pytest.raises(UnusedMocksError)` matches whatever else failed too.
        combined = types.new_class("VerificationFailures", tuple(type(f) for f in failures), {})
        raise combined("\n\n".join(str(f) for f in failures))


def _check_fields(
    timeline: Timeline,
    interaction: Interaction,
    expected: Mapping[str, Any],
    required: Sequence[str],
) -> None:
    __tracebackhide__ = True
    actual = interaction.fields
    complete = expected.keys() >= actual.keys()
    for name in required:
        if name not in expected:
            complete = False
    if not complete:
        missing = [k for k in (*required, *actual) if k not in expected]
        missing = list(dict.fromkeys(missing))
        raise MissingAssertionFieldsError(
            f"assert_{interaction.step}() leaves out {', '.join(missing)}, which "
            f"the interaction recorded. Assert every field:\n    "
            f"{assertion_text(interaction.source, interaction.step, actual)}"
        )
    diffs = []
    for name, want in expected.items():
        got = actual.get(name, _NOT_RECORDED)
        if not _equal(want, got):
            diffs.append(
                f"  {name}:\n    expected {value_text(want)}\n    actual   {value_text(got)}"
            )
    if diffs:
        position = timeline.position(interaction)
        raise InteractionMismatchError(
            f"{interaction.source}.{interaction.step} (interaction #{position}, "
            f"session #{interaction.session}) does not match the assertion:\n"
            + "\n".join(diffs)
            + f"\nThe interaction as recorded:\n    "
            f"{assertion_text(interaction.source, interaction.step, actual)}"
        )


def _equal(expected: Any, actual: Any) -> bool:
    # The expected value goes on the left so matchers (unittest.mock.ANY,
    # dirty-equals) decide; lists and tuples of equal items are equal.
    if isinstance(expected, (list, tuple)) and isinstance(actual, (list, tuple)):
        if len(expected) != len(actual):
            return False
        # A loop, not all() over a generator: half the cost per assertion.
        for want, got in zip(expected, actual, strict=True):  # noqa: SIM110
            if not _equal(want, got):
                return False
        return True
    return bool(expected == actual)


def _refusals_error(refused: list[RefusalError]) -> VerificationError:
    lines = "\n".join(
        f"  - {type(r).__name__}: " + r.report().replace("\n", "\n    ") for r in refused
    )
    return UnacknowledgedRefusalsError(
        f"{plural(len(refused), 'call was', 'calls were')} refused while the test ran, "
        f"and the test did not acknowledge {'it' if len(refused) == 1 else 'them'}:\n{lines}\n"
        f"If the test provoked {'it' if len(refused) == 1 else 'them'} on purpose, acknowledge "
        f"{'it' if len(refused) == 1 else 'them'}: tripwire.acknowledge_refusals()"
    )


def _unasserted_error(unasserted: list[Interaction]) -> VerificationError:
    lines = "\n".join(f"    {assertion_text(i.source, i.step, i.fields)}" for i in unasserted)
    return UnassertedInteractionsError(
        f"{plural(len(unasserted), 'interaction was', 'interactions were')} recorded but "
        f"never asserted. Add to the test, in this order:\n{lines}"
    )


def _unused_error(unused: list[tuple[Any, Any]]) -> VerificationError:
    lines = "\n".join(
        f"  - {session.label}, step {step.step_index} of {session.total}: {step.step} "
        f"(registered at {step.registered_at})"
        for session, step in unused
    )
    return UnusedMocksError(
        f"{plural(len(unused), 'required step was', 'required steps were')} scripted but never "
        f"used:\n{lines}\nRemove {'it' if len(unused) == 1 else 'them'}, mark "
        f"{'it' if len(unused) == 1 else 'them'} required=False, or make the code take "
        f"{'it' if len(unused) == 1 else 'them'}."
    )


_current: list[StrictVerifier] = []


def current_verifier() -> StrictVerifier:
    """The verifier of the running test (set by the pytest plugin)."""
    if not _current:
        raise ConfigurationError(
            "no current tripwire verifier. Inside pytest each test gets one from the "
            "tripwire plugin (is it disabled with -p no:tripwire?). Outside pytest, make one:\n"
            "    verifier = StrictVerifier()\n"
            "    with verifier.sandbox(): ..."
        )
    return _current[-1]


def latest_verifier() -> StrictVerifier | None:
    """The current verifier, or ``None`` outside a test (never raises)."""
    return _current[-1] if _current else None


@contextmanager
def use_verifier(verifier: StrictVerifier) -> Iterator[StrictVerifier]:
    """Make *verifier* the current one (what ``tripwire.<driver>`` uses) for a block."""
    _current.append(verifier)
    try:
        yield verifier
    finally:
        _current.remove(verifier)
