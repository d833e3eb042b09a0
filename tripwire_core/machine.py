"""A driver's state machine: defined with ``transitions``, compiled for speed.

The ``transitions.Machine`` is built once per driver class and never
mutated; it validates the definition and stays the source of truth.  The
per-call path reads a plain ``{step: {state: next_state}}`` table compiled
from the Machine's public attributes, which costs a dictionary lookup
instead of the several microseconds (and log calls) of triggering an event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import transitions

from .errors import ConfigurationError
from .steps import Step

__all__ = ["StateMachine"]


class StateMachine:
    """The compiled form of a driver's states and steps."""

    __slots__ = (
        "_definition",
        "initial",
        "legal_steps",
        "machine",
        "sources",
        "states",
        "steps",
        "table",
    )

    def __init__(self, states: Sequence[str], initial: str, steps: Sequence[Step]) -> None:
        _check_repeats(steps)
        if initial not in states:
            raise ConfigurationError(
                f"initial state {initial!r} is not one of the states {list(states)}"
            )
        for step in steps:
            unknown = [s for s in (*step.sources, step.dest) if s is not None and s not in states]
            if unknown:
                raise ConfigurationError(
                    f"step {step.name!r} names unknown state(s) {unknown}; "
                    f"declared states: {list(states)}"
                )
        self.states: tuple[str, ...] = tuple(states)
        self.initial = initial
        # A step declared again for other sources (another destination) is
        # one step: the first declaration gives its fields and returns.
        first: dict[str, Step] = {}
        for step in steps:
            first.setdefault(step.name, step)
        self.steps: Mapping[str, Step] = MappingProxyType(first)
        self._definition = [
            {"trigger": s.name, "source": list(s.sources), "dest": s.dest} for s in steps
        ]
        self.machine = transitions.Machine(
            model=None,
            states=list(states),
            initial=initial,
            transitions=self._definition,
            auto_transitions=False,
        )
        self.table = self._compile()
        # What a test can script in each state (for messages): implicit steps
        # are the driver's business.
        self.legal_steps: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {
                state: tuple(t for t in self.machine.get_triggers(state) if self.steps[t].scripted)
                for state in self.states
            }
        )
        self.sources: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {name: tuple(self.table[name]) for name in self.table}
        )

    def _compile(self) -> dict[str, dict[str, str]]:
        # Internal transitions (dest None) are stored as src -> src so the hot
        # path assigns the state unconditionally.
        table: dict[str, dict[str, str]] = {}
        for name, event in self.machine.events.items():
            row: dict[str, str] = {}
            for source, candidates in event.transitions.items():
                if len(candidates) != 1:
                    raise ConfigurationError(
                        f"step {name!r} has {len(candidates)} transitions from {source!r}; "
                        "tripwire needs exactly one"
                    )
                dest = candidates[0].dest
                row[source] = source if dest is None else dest
            table[name] = row
        return table

    def next_state(self, step: str, state: str) -> str | None:
        """The state after *step* from *state*, or ``None`` if it is illegal."""
        return self.table.get(step, {}).get(state)

    def trigger(self, step: str, state: str) -> str:
        """Run *step* through the ``transitions`` Machine itself (slow path).

        Used by the differential test and by diagnostics; raises
        ``transitions.MachineError`` when the step is illegal.
        """
        holder = _Holder(state)
        self.machine.events[step].trigger(holder)
        return holder.state

    def mermaid(self, title: str, *, internal: bool = False) -> str:
        """A Mermaid state diagram of this machine, drawn by ``transitions``.

        Steps that keep the state are left out unless *internal* is true:
        they are most of a driver's steps and would hide its shape.
        """
        from transitions.extensions import GraphMachine

        definition = [t for t in self._definition if internal or t["dest"] is not None]
        graph: Any = GraphMachine(
            model=None,
            states=list(self.states),
            initial=self.initial,
            transitions=definition,
            auto_transitions=False,
            graph_engine="mermaid",
        )
        return str(graph.graph_cls(graph).get_graph(title=title).source)


def _check_repeats(steps: Sequence[Step]) -> None:
    seen: dict[str, Step] = {}
    for step in steps:
        earlier = seen.setdefault(step.name, step)
        if earlier is step:
            continue
        overlap = sorted(set(earlier.sources) & set(step.sources))
        if overlap:
            raise ConfigurationError(f"steps declared twice from the same state: {step.name}")
        if (earlier.fields, earlier.returns, earlier.scripted) != (
            step.fields,
            step.returns,
            step.scripted,
        ):
            raise ConfigurationError(
                f"step {step.name!r} is declared again with other fields, returns or scripted; "
                "a repeated declaration may only add sources and their destination"
            )
        seen[step.name] = earlier


class _Holder:
    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state
