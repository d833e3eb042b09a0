"""The compiled step table must agree with the transitions Machine it came from."""

from __future__ import annotations

import re

import pytest
import transitions

from tripwire_core import (
    ConfigurationError,
    DriverPlugin,
    StateMachine,
    Step,
    StrictVerifier,
    get_driver,
)

BUILT_IN = ["asyncpg", "sqlite3"]


def pairs(name: str) -> list[tuple[str, str, str]]:
    driver = get_driver(name)
    assert driver is not None
    machine = driver.machine
    return [(name, state, step) for state in machine.states for step in machine.steps]


@pytest.mark.parametrize(
    ("driver_name", "state", "step"), [p for name in BUILT_IN for p in pairs(name)]
)
def test_table_agrees_with_machine(driver_name: str, state: str, step: str) -> None:
    driver = get_driver(driver_name)
    assert driver is not None
    machine = driver.machine
    compiled = machine.next_state(step, state)
    try:
        reference: str | None = machine.trigger(step, state)
    except transitions.MachineError as error:
        assert error.value == f"Can't trigger event {step} from state {state}!"
        reference = None
    assert compiled == reference
    scripted = machine.steps[step].scripted
    assert (step in machine.legal_steps[state]) == (compiled is not None and scripted)
    assert (state in machine.sources[step]) == (compiled is not None)


@pytest.mark.parametrize("driver_name", BUILT_IN)
def test_the_table_cases_include_legal_and_illegal_steps(driver_name: str) -> None:
    # Otherwise the comparison above could pass by never meeting one of the two.
    driver = get_driver(driver_name)
    assert driver is not None
    illegal = {
        driver.machine.next_state(step, state) is None for _, state, step in pairs(driver_name)
    }
    assert illegal == {True, False}


def test_machine_is_built_once_per_driver_class() -> None:
    driver = get_driver("asyncpg")
    assert driver is not None
    # Every plugin made from the class shares the one machine built with it.
    first, second = driver(StrictVerifier()), driver(StrictVerifier())
    assert first.machine is second.machine is driver.machine
    assert isinstance(driver.machine.machine, transitions.Machine)
    assert driver.machine.machine.models == []


@pytest.mark.parametrize(
    ("states", "initial", "steps", "message"),
    [
        (["a"], "b", [], "initial state 'b' is not one of the states ['a']"),
        (["a"], "a", [Step("go", "a", "z")], "step 'go' names unknown state(s) ['z']"),
        (
            ["a"],
            "a",
            [Step("go", "a"), Step("go", "a")],
            "steps declared twice from the same state: go",
        ),
        (
            ["a", "b"],
            "a",
            [Step("go", "a", fields=("x",)), Step("go", "b")],
            "step 'go' is declared again with other fields",
        ),
    ],
)
def test_bad_definitions_fail_when_the_class_is_made(
    states: list[str], initial: str, steps: list[Step], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        StateMachine(states, initial, steps)


def test_driver_class_compiles_at_definition() -> None:
    class Tiny(DriverPlugin):
        name = "tiny"
        states = ("off", "on")
        initial = "off"
        steps = (Step("switch", "off", "on"),)

        def patches(self) -> tuple[()]:
            return ()

    assert Tiny.machine.table == {"switch": {"off": "on"}}
    assert Tiny.machine.legal_steps == {"off": ("switch",), "on": ()}


def test_a_step_may_lead_to_different_states_from_different_sources() -> None:
    machine = StateMachine(
        ["open", "pool", "closed", "pool_closed"],
        "open",
        [Step("close", "open", "closed"), Step("close", "pool", "pool_closed")],
    )
    assert machine.table == {"close": {"open": "closed", "pool": "pool_closed"}}
    assert machine.trigger("close", "pool") == "pool_closed"


def test_mermaid_diagram_comes_from_the_definition() -> None:
    driver = get_driver("asyncpg")
    assert driver is not None
    text = driver.machine.mermaid("asyncpg")
    assert "stateDiagram-v2" in text
    assert "disconnected --> connected: connect" in text
