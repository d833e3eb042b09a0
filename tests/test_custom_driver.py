"""Custom drivers are a first-class use: one defined from scratch, here.

The driver below is written only with the public API (``tripwire_core`` and
the ``tripwire`` facade), registered for each test and unregistered after
it, and used through ``tripwire.scratchkv`` exactly like a built-in driver.
The last tests check discovery through the ``tripwire.drivers`` entry-point
group and run the example under examples/custom_driver on its own.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import itertools
import textwrap
import types
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest
import transitions

import tripwire
from tripwire_core import (
    AttributePatch,
    ConfigurationError,
    DriverPlugin,
    InteractionMismatchError,
    InvalidStateError,
    MissingAssertionFieldsError,
    Session,
    Step,
    StrictVerifier,
    UnacknowledgedRefusalsError,
    UnassertedInteractionsError,
    UnmockedInteractionError,
    UnusedMocksError,
    VerificationError,
    driver_names,
    register_driver,
    unregister_driver,
    use_verifier,
)

ROOT = Path(__file__).resolve().parent.parent


# The "real" client library: there is no server, so connecting refuses.


def _real_connect(host: str, port: int) -> object:
    raise ConnectionRefusedError(f"no kv server at {host}:{port}")


kvlib = types.SimpleNamespace(connect=_real_connect)


# The driver.


def _results(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError(f"exec() returns a list of results, not {type(value).__name__}")
    return value


class ScratchKvPlugin(DriverPlugin):
    name = "scratchkv"
    states = ("disconnected", "connected", "batching", "closed")
    initial = "disconnected"
    steps = (
        Step("connect", "disconnected", "connected", fields=("host", "port")),
        Step("get", "connected", fields=("key",)),
        Step("set", ("connected", "batching"), fields=("key", "value")),
        # multi() only starts buffering on the client side: nothing to script.
        Step("multi", "connected", "batching", scripted=False),
        Step("exec", "batching", "connected", returns=_results, returns_doc="a list"),
        Step("close", ("connected", "batching"), "closed"),
    )
    native_errors: ClassVar = {"closed": (ConnectionError, "client is closed")}

    def patches(self) -> tuple[AttributePatch]:
        return (AttributePatch(kvlib, "connect", _fake_connect),)


class ScratchClient:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, key: str) -> str | None:
        value: str | None = self._session.call("get", {"key": key})
        return value

    def set(self, key: str, value: str) -> None:
        self._session.call("set", {"key": key, "value": value})

    def multi(self) -> None:
        self._session.transition("multi")

    def exec(self) -> list[object]:
        results: list[object] = self._session.call("exec", {})
        return results

    def close(self) -> None:
        self._session.call("close", {})


def _fake_connect(host: str, port: int) -> ScratchClient:
    plugin = ScratchKvPlugin.current()
    if plugin is None:
        raise UnmockedInteractionError("kvlib.connect() ran outside `with tripwire:`")
    session = plugin.open_session("connect")
    session.call("connect", {"host": host, "port": port})
    return ScratchClient(session)


@pytest.fixture(autouse=True)
def _registered(request: pytest.FixtureRequest) -> None:
    register_driver(ScratchKvPlugin)
    # Registration is process-wide: undo it so no other test sees the driver.
    request.addfinalizer(functools.partial(unregister_driver, ScratchKvPlugin.name))


# Using it.


def test_the_driver_is_reached_as_tripwire_scratchkv() -> None:
    plugin = tripwire.scratchkv
    assert type(plugin) is ScratchKvPlugin
    # One plugin per test; compared by id because `is` would make mypy narrow
    # tripwire.scratchkv and hide the untyped assert_<step> helpers used below.
    assert id(tripwire.scratchkv) == id(plugin)
    (
        tripwire.scratchkv.new_session()
        .expect("connect", returns=None)
        .expect("set", returns=None)
        .expect("get", returns="v")
        .expect("close", returns=None)
    )

    with tripwire:
        client = kvlib.connect("kv.test", 7000)
        client.set("k", "v")
        assert client.get("k") == "v"
        client.close()

    tripwire.scratchkv.assert_connect(host="kv.test", port=7000)
    tripwire.scratchkv.assert_set(key="k", value="v")
    tripwire.scratchkv.assert_get(key="k")
    tripwire.scratchkv.assert_close()


def test_generic_assert_step_helpers_check_every_field() -> None:
    # ScratchKvPlugin declares no assert_* methods: the core provides them.
    assert not [name for name in vars(ScratchKvPlugin) if name.startswith("assert_")]
    tripwire.scratchkv.new_session().expect("connect", returns=None).expect("set", returns=None)
    with tripwire:
        kvlib.connect("kv.test", 7000).set("k", "v")

    kv = tripwire.scratchkv
    with pytest.raises(MissingAssertionFieldsError, match="leaves out port"):
        kv.assert_connect(host="kv.test")
    with pytest.raises(InteractionMismatchError, match=r"expected 'kv\.other'"):
        kv.assert_connect(host="kv.other", port=7000)
    with pytest.raises(AttributeError, match="assert_nosuchstep"):
        kv.assert_nosuchstep()
    with pytest.raises(ConfigurationError, match="no step 'nosuchstep'"):
        kv.assert_step("nosuchstep")
    kv.assert_connect(host="kv.test", port=7000)
    kv.assert_step("set", key="k", value="v")


def test_the_step_table_agrees_with_the_transitions_machine() -> None:
    machine = ScratchKvPlugin.machine
    legal = 0
    for state, step in itertools.product(machine.states, machine.steps):
        try:
            expected: str | None = machine.trigger(step, state)
        except transitions.MachineError:
            expected = None
        assert machine.next_state(step, state) == expected, (state, step)
        legal += expected is not None
    # Both outcomes occur, so the comparison above is not vacuous.
    assert 0 < legal < len(machine.states) * len(machine.steps)
    assert machine.next_state("set", "batching") == "batching"
    assert machine.next_state("close", "batching") == "closed"


def test_an_illegal_step_names_the_state_and_the_legal_steps() -> None:
    tripwire.scratchkv.new_session().expect("connect", returns=None)

    with tripwire:
        client = kvlib.connect("kv.test", 7000)
        with pytest.raises(InvalidStateError) as caught:
            client.exec()

    message = str(caught.value)
    legal_now = ScratchKvPlugin.machine.legal_steps["connected"]
    # multi is legal too, but implicit: messages list only what a test can script.
    assert set(legal_now) == {"get", "set", "close"}
    assert "scratchkv session #1 is in state 'connected'" in message
    assert "exec is legal in: batching" in message
    assert f"legal now: {', '.join(legal_now)}." in message
    # No native error is declared for 'connected', so it is not blended.
    assert not isinstance(caught.value, ConnectionError)
    assert tripwire.acknowledge_refusals() == [caught.value]
    tripwire.scratchkv.assert_connect(host="kv.test", port=7000)


def test_a_native_error_is_caught_by_production_except_clauses() -> None:
    tripwire.scratchkv.new_session().expect("connect", returns=None).expect("close", returns=None)
    caught: BaseException | None = None

    with tripwire:
        client = kvlib.connect("kv.test", 7000)
        client.close()
        try:
            client.get("k")
        except ConnectionError as exc:  # what code written for the real client catches
            caught = exc

    # Worded as the real client words it; tripwire's explanation rides along.
    assert isinstance(caught, InvalidStateError)
    assert str(caught) == "client is closed"
    assert caught.explanation is not None
    assert "scratchkv session #1 is in state 'closed'" in caught.explanation
    assert tripwire.acknowledge_refusals(ConnectionError) == [caught]
    tripwire.scratchkv.assert_connect(host="kv.test", port=7000)
    tripwire.scratchkv.assert_close()


def test_an_unscripted_step_moves_the_state_and_records_nothing() -> None:
    handle = (
        tripwire.scratchkv.new_session()
        .expect("connect", returns=None)
        .expect("set", returns=None)
        .expect("exec", returns=[True])
    )
    with pytest.raises(ConfigurationError, match="implicit step"):
        handle.expect("multi", returns=None)
    with pytest.raises(ConfigurationError, match="returns a list of results"):
        handle.expect("exec", returns="OK")

    with tripwire:
        client = kvlib.connect("kv.test", 7000)
        client.multi()
        assert handle.session.state == "batching"
        with pytest.raises(InvalidStateError, match="in state 'batching'"):
            client.multi()
        client.set("k", "v")
        assert client.exec() == [True]
    assert handle.session.state == "connected"

    tripwire.acknowledge_refusals(InvalidStateError)
    tripwire.scratchkv.assert_connect(host="kv.test", port=7000)
    tripwire.scratchkv.assert_set(key="k", value="v")
    tripwire.scratchkv.assert_exec()


def test_the_patch_is_installed_only_while_the_sandbox_is_open() -> None:
    _ = tripwire.scratchkv  # a driver intercepts once the test has used it
    assert kvlib.connect is _real_connect

    with pytest.raises(RuntimeError), tripwire:
        assert kvlib.connect is _fake_connect
        with pytest.raises(UnmockedInteractionError, match="no scratchkv session is queued"):
            kvlib.connect("kv.test", 7000)
        raise RuntimeError("the code under test failed")

    assert kvlib.connect is _real_connect
    with pytest.raises(ConnectionRefusedError):
        kvlib.connect("kv.test", 7000)
    tripwire.acknowledge_refusals(UnmockedInteractionError)


def _verify_privately(run: Callable[[], None]) -> VerificationError:
    """Run *run* under a verifier of its own; return what verify_all() raised."""
    verifier = StrictVerifier()
    with use_verifier(verifier):
        run()
    with pytest.raises(VerificationError) as caught:
        verifier.verify_all()
    return caught.value


def test_the_core_verifies_the_custom_driver_like_a_builtin() -> None:
    def unasserted() -> None:
        tripwire.scratchkv.new_session().expect("connect", returns=None)
        with tripwire:
            kvlib.connect("kv.test", 7000)

    def unused() -> None:
        tripwire.scratchkv.new_session().expect("connect", returns=None)

    def swallowed() -> None:
        _ = tripwire.scratchkv  # no session queued: connect() is refused
        with tripwire, contextlib.suppress(UnmockedInteractionError):
            kvlib.connect("kv.test", 7000)

    error = _verify_privately(unasserted)
    assert isinstance(error, UnassertedInteractionsError)
    assert "tripwire.scratchkv.assert_connect(host='kv.test', port=7000)" in str(error)
    assert isinstance(_verify_privately(unused), UnusedMocksError)
    assert isinstance(_verify_privately(swallowed), UnacknowledgedRefusalsError)


@pytest.mark.parametrize(
    ("states", "initial", "steps", "complaint"),
    [
        (("a",), "b", (Step("x", "a"),), "initial state 'b'"),
        (("a",), "a", (Step("x", "a", "nowhere"),), "unknown state"),
        (("a",), "a", (Step("x", "a"), Step("x", "a")), "declared twice"),
    ],
)
def test_a_malformed_machine_is_refused_when_the_class_is_defined(
    states: tuple[str, ...], initial: str, steps: tuple[Step, ...], complaint: str
) -> None:
    with pytest.raises(ConfigurationError, match=complaint):
        type("Broken", (DriverPlugin,), {"states": states, "initial": initial, "steps": steps})


# Registering.


def test_a_taken_name_is_refused_and_a_freed_one_can_be_reused() -> None:
    class Clone(ScratchKvPlugin):
        """Same machine, same name, different class."""

    register_driver(ScratchKvPlugin)  # the same class again changes nothing
    with pytest.raises(ConfigurationError, match="'scratchkv' is already registered"):
        register_driver(Clone)
    with pytest.raises(ConfigurationError, match="'asyncpg' is already registered"):
        register_driver(type("Taken", (ScratchKvPlugin,), {"name": "asyncpg"}))
    with pytest.raises(ConfigurationError, match="must be a Python identifier"):
        register_driver(type("Dashed", (ScratchKvPlugin,), {"name": "scratch-clone"}))

    Clone.name = "scratchclone"
    register_driver(Clone)
    try:
        assert "scratchclone" in driver_names()
        assert isinstance(tripwire.scratchclone, Clone)
    finally:
        unregister_driver("scratchclone")
    with pytest.raises(AttributeError):
        _ = tripwire.scratchclone
    with pytest.raises(ConfigurationError, match="no driver named 'scratchclone'"):
        unregister_driver("scratchclone")


def test_an_unknown_driver_name_lists_the_registered_drivers() -> None:
    with pytest.raises(AttributeError) as caught:
        _ = tripwire.nosuchdriver
    message = str(caught.value)
    assert "has no attribute 'nosuchdriver'" in message
    assert f"registered drivers: {', '.join(driver_names())}" in message
    assert {"asyncpg", "scratchkv"} <= set(driver_names())
    assert not hasattr(tripwire, "nosuchdriver")


# Third-party packages: the entry-point group.

_THIRD_PARTY_DRIVER = '''
"""A third-party driver, installed with an entry point and never registered by hand."""

from tripwire_core import AttributePatch, DriverPlugin, Step

import mykvclient as client


class MyKvPlugin(DriverPlugin):
    name = "mykv"
    library = "mykvclient"
    states = ("idle", "open")
    initial = "idle"
    steps = (Step("connect", "idle", "open", fields=("dsn",)), Step("get", "open", fields=("key",)))

    def patches(self):
        return (AttributePatch(client, "connect", _connect),)


class _Client:
    def __init__(self, session):
        self._session = session

    def get(self, key):
        return self._session.call("get", {"key": key})


def _connect(dsn):
    session = MyKvPlugin.current().open_session("connect")
    session.call("connect", {"dsn": dsn})
    return _Client(session)
'''

_THIRD_PARTY_TESTS = """
import sys

import tripwire


def test_listed_before_it_is_imported():
    assert "mykv" in tripwire.driver_names()
    assert "mypkg" not in sys.modules


def test_guarded_once_its_library_is_imported():
    import pytest
    import mykvclient

    with tripwire, pytest.raises(tripwire.UnmockedInteractionError, match="no mykv session"):
        mykvclient.connect("kv://here")
    tripwire.acknowledge_refusals()


def test_reached_as_tripwire_mykv():
    tripwire.mykv.new_session().expect("connect", returns=None).expect("get", returns="v")
    import mypkg

    with tripwire:
        assert mypkg.client.connect("kv://here").get("k") == "v"

    assert type(tripwire.mykv) is mypkg.MyKvPlugin
    tripwire.mykv.assert_connect(dsn="kv://here")
    tripwire.mykv.assert_get(key="k")


def test_left_unasserted():
    import mypkg

    tripwire.mykv.new_session().expect("connect", returns=None)
    with tripwire:
        mypkg.client.connect("kv://here")
"""


def test_an_installed_package_is_found_through_the_entry_point_group(
    pytester: pytest.Pytester,
) -> None:
    # An installed distribution, as pip leaves it: metadata beside the module.
    dist_info = pytester.mkdir("mypkg-1.0.dist-info")
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: mypkg\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[tripwire.drivers]\nmykv = mypkg:MyKvPlugin\n")
    pytester.makepyfile(
        mypkg=_THIRD_PARTY_DRIVER,
        mykvclient="def connect(dsn):\n    raise ConnectionRefusedError(dsn)\n",
        test_mykv=textwrap.dedent(_THIRD_PARTY_TESTS),
    )
    pytester.makeini("[pytest]\nfilterwarnings = error\n")

    # pytest-asyncio, if installed, is not needed there and warns without config.
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider", "-p", "no:asyncio")

    # The last test fails at teardown, as strictness requires, naming the fix.
    result.assert_outcomes(passed=4, errors=1)
    result.stdout.fnmatch_lines(["*tripwire.mykv.assert_connect(dsn='kv://here')*"])


def test_the_example_passes_on_its_own(pytester: pytest.Pytester) -> None:
    # A fresh process: the example must register its driver by itself.
    example = ROOT / "examples" / "custom_driver"
    result = pytester.runpytest_subprocess(str(example), "-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def code_lines(path: Path) -> int:
    """Lines of code: no blank lines, comments or docstrings."""
    source = path.read_text()
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(
            node
        ):
            first = node.body[0]
            docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return sum(
        1
        for number, line in enumerate(source.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#") and number not in docstrings
    )


def test_the_example_driver_is_well_under_fifty_lines() -> None:
    root = Path(__file__).resolve().parent.parent
    count = code_lines(root / "examples" / "custom_driver" / "tripwire_kv.py")
    assert count < 40
    assert f"the driver: {count} lines of code" in (root / "docs" / "custom-drivers.md").read_text()


def test_a_name_the_facade_uses_is_refused() -> None:
    shadowed = type("Shadowed", (ScratchKvPlugin,), {"name": "sandbox"})
    with pytest.raises(ConfigurationError, match=r"tripwire\.sandbox is already part of"):
        tripwire.register_driver(shadowed)
