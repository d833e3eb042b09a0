"""The runner: ``python -m benchmarks`` (``make bench``).

Measures, in one run on one machine, tripwire beside the alternatives,
prints the table and writes ``benchmarks/results.json``.  Each measurement
runs in fresh interpreters (see ``worker.py``), in rounds that alternate the
contenders, so drift on a shared machine spreads over all of them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from . import environments, report, suite

__all__ = ["FULL", "SECTIONS", "SMOKE", "Plan", "main"]

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
RESULTS = HERE / "results.json"

Samples = dict[str, dict[str, list[float]]]


@dataclass(frozen=True)
class Plan:
    """How much to measure.  Counts are per round unless named otherwise."""

    rounds: int = 3
    calls: int = 1000  # fetchvals per batch, for the mocks
    batches: int = 10
    postgres_calls: int = 200  # round trips per batch
    postgres_batches: int = 5
    warmup: int = 3  # batches (or lifecycle samples) run and dropped
    lifecycle_repeat: int = 20  # lifecycles per sample
    lifecycle_samples: int = 10
    # interactions -> repetitions, in one process per size
    assert_sizes: dict[str, int] = field(
        default_factory=lambda: {"1000": 15, "10000": 5, "100000": 3}
    )
    pytest_tripwire_assert_sizes: dict[str, int] = field(
        default_factory=lambda: {"1000": 5, "10000": 2}
    )
    suite_tests: int = 500
    suite_runs: int = 3  # after one untimed run of each suite
    import_runs: int = 15  # after one untimed import of each


FULL = Plan()
#: A tiny run that exercises every piece (for the smoke test).
SMOKE = Plan(
    rounds=1,
    calls=20,
    batches=2,
    postgres_calls=5,
    postgres_batches=1,
    warmup=1,
    lifecycle_repeat=2,
    lifecycle_samples=2,
    assert_sizes={"100": 1, "200": 1},
    pytest_tripwire_assert_sizes={"100": 1},
    suite_tests=10,
    suite_runs=1,
    import_runs=2,
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_worker(python: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``worker.py`` under *python* with *spec*; its JSON result."""
    with tempfile.TemporaryDirectory() as scratch:
        # -E -s and a scratch cwd: nothing from here leaks into its sys.path.
        done = subprocess.run(
            [str(python), "-E", "-s", str(WORKER), json.dumps(spec)],
            cwd=scratch,
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise RuntimeError(f"worker failed on {spec}:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def rotated(names: list[str], turn: int) -> list[str]:
    """*names* starting at a different one each round."""
    turn %= len(names)
    return names[turn:] + names[:turn]


def measure_rounds(
    measure: str, pythons: dict[str, Path], specs: dict[str, dict[str, Any]], rounds: int
) -> dict[str, list[float]]:
    """Samples of *measure* per contender, pooled over *rounds* alternating rounds."""
    pooled: dict[str, list[float]] = {name: [] for name in specs}
    for turn in range(rounds):
        for name in rotated(list(specs), turn):
            log(f"  {measure}, round {turn + 1}/{rounds}: {name}")
            spec = {"measure": measure, "contender": name, **specs[name]}
            pooled[name] += run_worker(pythons[name], spec)["samples"]
    return pooled


def measure_assertions(
    python: Path, contender: str, sizes: dict[str, int], samples: Samples
) -> dict[str, Any]:
    """Per-assertion samples per size; the whole worker result of the largest size."""
    per_size: dict[str, list[float]] = {}
    runs: dict[str, dict[str, Any]] = {}
    for size, repeat in sorted(sizes.items(), key=lambda item: int(item[0])):
        log(f"  assertions: {contender}, {int(size):,} interactions")
        spec = {
            "measure": "assertions",
            "contender": contender,
            "interactions": int(size),
            "repeat": repeat,
        }
        runs[size] = run_worker(python, spec)
        per_size[size] = runs[size]["samples"]
    key = "assert_us" if contender == "tripwire" else f"assert_us_{contender}"
    samples[key] = per_size
    largest = max(runs, key=int)
    return {"size": int(largest), **runs[largest]}


def measure_imports(pythons: dict[str, Path], runs: int) -> dict[str, list[float]]:
    """Milliseconds of ``import tripwire`` in fresh interpreters, alternating."""
    code = (
        "import time; start = time.perf_counter_ns(); import tripwire; "
        "print((time.perf_counter_ns() - start) / 1e6)"
    )
    times: dict[str, list[float]] = {name: [] for name in pythons}
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(runs + 1):
            for name, python in pythons.items():
                # -I: no cwd, no environment, no user site on the path.
                out = subprocess.run(
                    [str(python), "-I", "-c", code],
                    cwd=scratch,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                if run:  # the first run writes byte code; not counted
                    times[name].append(float(out.stdout))
    return times


def measure_suites(plan: Plan, dsn: str | None) -> dict[str, list[float]]:
    """Wall seconds of the generated suites, alternating, after one untimed run each."""
    variants = ["tripwire", "floor"] + (["postgres"] if dsn else [])
    times: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory(prefix="tripwire-bench-suite-") as scratch:
        for variant in variants:
            suite.write_suite(Path(scratch, variant), variant, plan.suite_tests)
            log(f"  suite: {variant}, untimed run")
            suite.run_suite(Path(scratch, variant), variant, plan.suite_tests, dsn)
        for turn in range(plan.suite_runs):
            for variant in rotated(variants, turn):
                log(f"  suite, run {turn + 1}/{plan.suite_runs}: {variant}")
                times[variant].append(
                    suite.run_suite(Path(scratch, variant), variant, plan.suite_tests, dsn)
                )
    return times


#: What ``--only`` can pick, in the order they run.
SECTIONS = ("imports", "per_call", "lifecycle", "assertions", "suite")


def collect(
    plan: Plan, pythons: dict[str, Path], dsn: str | None, sections: tuple[str, ...] = SECTIONS
) -> tuple[Samples, dict[str, Any] | None]:
    """The chosen measurements: their samples, and the largest assertion run's details."""
    samples: Samples = {}
    largest = None
    if "imports" in sections:
        log("import time")
        samples["import_ms"] = measure_imports(
            {n: p for n, p in pythons.items() if n in ("tripwire", "pytest_tripwire")},
            plan.import_runs,
        )
    if "per_call" in sections:
        log("per call")
        mock = {"calls": plan.calls, "batches": plan.batches, "warmup": plan.warmup}
        specs: dict[str, dict[str, Any]] = {
            name: dict(mock) for name in ("tripwire", "asyncmock", "pytest_tripwire")
        }
        if dsn:
            specs["postgres"] = {
                "calls": plan.postgres_calls,
                "batches": plan.postgres_batches,
                "warmup": 1,
                "dsn": dsn,
            }
        specs = {name: spec for name, spec in specs.items() if name in pythons}
        samples["per_call_us"] = measure_rounds("per_call", pythons, specs, plan.rounds)
    if "lifecycle" in sections:
        log("lifecycle")
        life = {
            "repeat": plan.lifecycle_repeat,
            "samples": plan.lifecycle_samples,
            "warmup": plan.warmup,
        }
        specs = {name: dict(life) for name in ("tripwire", "pytest_tripwire") if name in pythons}
        samples["lifecycle_us"] = measure_rounds("lifecycle", pythons, specs, plan.rounds)
    if "assertions" in sections:
        log("assertions")
        largest = measure_assertions(pythons["tripwire"], "tripwire", plan.assert_sizes, samples)
        if "pytest_tripwire" in pythons:
            measure_assertions(
                pythons["pytest_tripwire"],
                "pytest_tripwire",
                plan.pytest_tripwire_assert_sizes,
                samples,
            )
        samples["session"] = {
            "session_s": largest["session_s"],
            "peak_rss_mb": [largest["peak_rss_mb"]],
            "baseline_rss_mb": [largest["baseline_rss_mb"]],
        }
    if "suite" in sections:
        log("suites")
        samples["suite_s"] = measure_suites(plan, dsn)
    return samples, largest


def assemble(
    plan: Plan, samples: Samples, largest: dict[str, Any] | None, postgres: Any
) -> dict[str, Any]:
    """results.json: medians under the issue's keys, then ratios, targets, samples."""
    results: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": environments.machine(),
        "versions": environments.versions(),
        "labels": {
            "pytest_tripwire": environments.PYTEST_TRIPWIRE,
            "postgres": postgres.version if postgres else "",
        },
    }
    for section, rows in samples.items():
        if section != "session":
            results[section] = {name: statistics.median(values) for name, values in rows.items()}
    if largest is not None:
        size = largest["size"]
        results[f"session_{size}_s"] = statistics.median(largest["session_s"])
        results[f"peak_rss_mb_{size}"] = largest["peak_rss_mb"]
        results[f"session_{size}_phases_s"] = {
            phase: statistics.median(values) for phase, values in largest["phases_s"].items()
        }
        results["session_size"] = size
    results["postgres_start_s"] = postgres.start_s if postgres else None
    results["plan"] = asdict(plan)
    results["ratios"] = report.build_ratios(results)
    results["targets"] = [target.as_dict() for target in report.targets(results)]
    results["stats"] = {
        section: {name: report.summarize(values) for name, values in rows.items()}
        for section, rows in samples.items()
    }
    results["samples"] = {
        section: {name: [round(value, 4) for value in values] for name, values in rows.items()}
        for section, rows in samples.items()
    }
    return results


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write results")
    parser.add_argument("--smoke", action="store_true", help="a tiny run of every piece")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    parser.add_argument(
        "--only",
        type=lambda text: tuple(text.split(",")),
        default=SECTIONS,
        help=f"comma-separated sections to run, of: {', '.join(SECTIONS)}",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip real PostgreSQL")
    parser.add_argument(
        "--no-pytest-tripwire", action="store_true", help="skip pytest-tripwire (no venv)"
    )
    parser.add_argument(
        "--show", action="store_true", help="print the table of --output, measuring nothing"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.show:
        print(report.format_table(json.loads(args.output.read_text())))
        return 0
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown sections: {', '.join(sorted(unknown))}")
    plan = SMOKE if args.smoke else FULL
    if args.rounds:
        plan = replace(plan, rounds=args.rounds)
    here = Path(sys.executable)
    pythons = {"tripwire": here, "asyncmock": here}
    if not args.no_pytest_tripwire:
        pythons["pytest_tripwire"] = environments.pytest_tripwire_python()
    with contextlib.ExitStack() as stack:
        postgres = None if args.no_postgres else stack.enter_context(environments.postgres())
        if postgres:
            pythons["postgres"] = here
        samples, largest = collect(plan, pythons, postgres.dsn if postgres else None, args.only)
    results = assemble(plan, samples, largest, postgres)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(report.format_table(results))
    log(f"\nwrote {args.output}")
    return 0
