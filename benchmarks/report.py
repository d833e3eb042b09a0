"""Summaries, ratios, targets and the printed table.

Every number quoted is a median, shown with the minimum and maximum of its
samples; every ratio divides two medians measured in the same run.  Targets
are judged on those ratios (and on the few absolute bounds the issue set).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["LABELS", "Target", "build_ratios", "format_table", "summarize", "targets"]

#: How each contender is named in the table.
LABELS = {
    "tripwire": "tripwire",
    "asyncmock": "unittest.mock.AsyncMock (verifies nothing)",
    "pytest_tripwire": "pytest-tripwire {pytest_tripwire}",
    "postgres": "PostgreSQL {postgres} (Unix socket)",
    "floor": "pytest floor: {tests} empty async tests",
}


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """``{"median", "min", "max", "n"}`` of *samples*."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "n": len(samples),
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def build_ratios(results: dict[str, Any]) -> dict[str, float | None]:
    """The ratios between medians of this run."""
    call = results.get("per_call_us", {})
    life = results.get("lifecycle_us", {})
    asserts = results.get("assert_us", {})
    suite = results.get("suite_s", {})
    imports = results.get("import_ms", {})
    floor = suite.get("floor")
    net = {
        name: suite[name] - floor
        for name in ("tripwire", "postgres")
        if name in suite and floor is not None
    }
    return {
        "per_call_pytest_tripwire_over_tripwire": _ratio(
            call.get("pytest_tripwire"), call.get("tripwire")
        ),
        "per_call_postgres_over_tripwire": _ratio(call.get("postgres"), call.get("tripwire")),
        "per_call_asyncmock_over_tripwire": _ratio(call.get("asyncmock"), call.get("tripwire")),
        "lifecycle_pytest_tripwire_over_tripwire": _ratio(
            life.get("pytest_tripwire"), life.get("tripwire")
        ),
        "assert_slowest_over_fastest": _ratio(max(asserts.values()), min(asserts.values()))
        if len(asserts) > 1
        else None,
        "suite_postgres_over_tripwire": _ratio(suite.get("postgres"), suite.get("tripwire")),
        "suite_postgres_over_tripwire_net_of_floor": _ratio(
            net.get("postgres"), net.get("tripwire")
        ),
        "import_pytest_tripwire_over_tripwire": _ratio(
            imports.get("pytest_tripwire"), imports.get("tripwire")
        ),
    }


@dataclass(frozen=True)
class Target:
    """One goal of the issue, judged on this run's numbers."""

    name: str
    value: float | None
    unit: str
    goal: str
    check: Callable[[float], bool]

    @property
    def met(self) -> bool | None:
        return None if self.value is None else self.check(self.value)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "goal": self.goal,
            "met": self.met,
        }


def targets(results: dict[str, Any]) -> list[Target]:
    """The issue's targets, with this run's values."""
    ratios = results["ratios"]
    return [
        Target(
            "per call: pytest-tripwire / tripwire",
            ratios["per_call_pytest_tripwire_over_tripwire"],
            "x",
            ">= 2x",
            lambda v: v >= 2,
        ),
        Target(
            "per call: PostgreSQL / tripwire",
            ratios["per_call_postgres_over_tripwire"],
            "x",
            ">= 40x",
            lambda v: v >= 40,
        ),
        Target(
            "assertion cost, slowest / fastest size",
            ratios["assert_slowest_over_fastest"],
            "x",
            "<= 1.2x",
            lambda v: v <= 1.2,
        ),
        Target(
            "100,000-step session: script + run + assert",
            results.get("session_100000_s"),
            " s",
            "< 1 s",
            lambda v: v < 1,
        ),
        Target(
            "suite: PostgreSQL / tripwire",
            ratios["suite_postgres_over_tripwire"],
            "x",
            ">= 10x",
            lambda v: v >= 10,
        ),
        Target(
            "import tripwire",
            results.get("import_ms", {}).get("tripwire"),
            " ms",
            "< 50 ms",
            lambda v: v < 50,
        ),
    ]


def number(value: float | None) -> str:
    """Three significant figures or so, without scientific notation."""
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


_SECTIONS = (
    ("per_call_us", "per call: await conn.fetchval('SELECT $1::int', i) in an open session (µs)"),
    ("lifecycle_us", "lifecycle: script connect+fetch+close, sandbox, run, assert 3, verify (µs)"),
    ("assert_us", "one assertion after a session of N interactions (µs)"),
    ("assert_us_pytest_tripwire", "the same with pytest-tripwire (µs)"),
    ("session", "a {size:,}-step session with tripwire"),
    ("suite_s", "{tests}-test suite of a CRUD module, pytest wall time (s)"),
    ("import_ms", "import tripwire in a fresh interpreter (ms)"),
)


def format_table(results: dict[str, Any]) -> str:
    """The table of medians (min, max, n), ratios and targets."""
    sizes = {"tests": results["plan"]["suite_tests"], "size": results.get("session_size", 0)}
    names = {key: label.format(**results["labels"], **sizes) for key, label in LABELS.items()}
    stats = results["stats"]
    lines = [_header(results), f"{'':52}{'median':>10}{'min':>10}{'max':>10}{'n':>5}"]
    for key, title in _SECTIONS:
        rows = stats.get(key)
        if not rows:
            continue
        lines.append(title.format(**sizes))
        for name, summary in rows.items():
            label = names.get(name, _size_label(key, name))
            lines.append(
                f"  {label:50}{number(summary['median']):>10}{number(summary['min']):>10}"
                f"{number(summary['max']):>10}{summary['n']:>5}"
            )
    lines += ["", "ratios of medians, this run"]
    ratio_labels = {
        "per_call_asyncmock_over_tripwire": "per call: AsyncMock / tripwire",
        "lifecycle_pytest_tripwire_over_tripwire": "lifecycle: pytest-tripwire / tripwire",
        "suite_postgres_over_tripwire_net_of_floor": "suite, net of the floor: PG / tripwire",
        "import_pytest_tripwire_over_tripwire": "import: pytest-tripwire / tripwire",
    }
    for key, label in ratio_labels.items():
        value = results["ratios"].get(key)
        if value is not None:
            lines.append(f"  {label:50}{number(value):>9}x")
    lines += ["", "targets"]
    for target in results["targets"]:
        verdict = {True: "met", False: "NOT MET", None: "not measured"}[target["met"]]
        shown = number(target["value"]) + (target["unit"] if target["value"] is not None else "")
        lines.append(f"  {target['name']:50}{shown:>10}  goal {target['goal']:9} {verdict}")
    return "\n".join(lines)


def _header(results: dict[str, Any]) -> str:
    machine = results["machine"]
    return (
        f"tripwire benchmarks, {results['date']}: {machine['cpu']} ({machine['cpus']} CPUs), "
        f"Python {machine['python']}, {machine['os']}"
    )


def _size_label(key: str, name: str) -> str:
    if key.startswith("assert_us"):
        return f"after {int(name):,} interactions"
    return {
        "session_s": "script + run + assert + verify (s)",
        "peak_rss_mb": "peak RSS of the process (MiB)",
        "baseline_rss_mb": "RSS before the session (MiB)",
    }.get(name, name)
