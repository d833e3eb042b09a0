"""One measurement of one contender, in a fresh interpreter.

The runner starts it as ``python -E -s benchmarks/worker.py '<spec>'`` with
the interpreter of the contender's environment (this project's virtualenv,
or pytest-tripwire's throwaway one, where this project is not installed),
so it uses nothing but the standard library and ``contenders.py`` beside
it.  It prints one JSON object on stdout.

The spec is a JSON object: ``measure`` (``per_call``, ``lifecycle`` or
``assertions``), ``contender``, and the sizes the measure takes (see each
function).  Every timing uses ``time.perf_counter_ns``; warm-up rounds are
run and dropped; the garbage collector stays on, as in a real test run, and
a full collection runs before each timed region so each starts alike.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import contenders  # type: ignore[import-not-found]  # beside this script, not a package

NS_PER_US = 1_000


async def per_call(contender: Any, calls: int, batches: int, warmup: int) -> dict[str, Any]:
    """Microseconds per ``await conn.fetchval(QUERY, i)`` inside an open session.

    Each batch opens a session with *calls* fetchvals scripted (for the
    mocks), times the loop of calls, then closes, asserts and verifies it
    outside the timed region.  One sample per batch: its mean per call.
    """
    query = contenders.QUERY
    samples = []
    for batch in range(warmup + batches):
        async with contender.session(calls) as conn:
            gc.collect()
            start = time.perf_counter_ns()
            for i in range(calls):
                await conn.fetchval(query, i)
            elapsed = time.perf_counter_ns() - start
        if batch >= warmup:
            samples.append(elapsed / calls / NS_PER_US)
    return {"samples": samples}


async def lifecycle(contender: Any, repeat: int, samples: int, warmup: int) -> dict[str, Any]:
    """Microseconds per small test: see ``contenders._Verifying.lifecycle``.

    One sample is the mean of *repeat* lifecycles in a row.
    """
    results = []
    for sample in range(warmup + samples):
        gc.collect()
        start = time.perf_counter_ns()
        for _ in range(repeat):
            rows = await contender.lifecycle()
        elapsed = time.perf_counter_ns() - start
        if rows[0]["name"] != "Alice":
            raise AssertionError(f"{contender.name} returned {rows!r}")
        if sample >= warmup:
            results.append(elapsed / repeat / NS_PER_US)
    return {"samples": results}


async def assertions(contender: Any, interactions: int, repeat: int) -> dict[str, Any]:
    """A session of *interactions* fetchvals, scripted, run and asserted, *repeat* times.

    Reports, per repetition, the microseconds per ``assert_fetchval`` and
    the seconds each phase took; and the peak resident memory of the process.
    """
    query = contenders.QUERY
    tw, asyncpg = contender.tw, contender.asyncpg
    phases: dict[str, list[float]] = {"script": [], "run": [], "assert": [], "verify": []}
    per_assertion = []
    for _ in range(repeat):
        gc.collect()
        marks = [time.perf_counter_ns()]
        with contender.test():
            contender.script(interactions)
            marks.append(time.perf_counter_ns())
            async with tw:
                conn = await asyncpg.connect(dsn=contenders.DSN)
                for i in range(interactions):
                    await conn.fetchval(query, i)
                await conn.close()
            marks.append(time.perf_counter_ns())
            tw.asyncpg.assert_connect(dsn=contenders.DSN)
            start = time.perf_counter_ns()
            for i in range(interactions):
                tw.asyncpg.assert_fetchval(query=query, args=[i])
            per_assertion.append((time.perf_counter_ns() - start) / interactions / NS_PER_US)
            tw.asyncpg.assert_close()
            marks.append(time.perf_counter_ns())
        marks.append(time.perf_counter_ns())  # verify_all ran as the block closed
        for name, begin, end in zip(phases, marks[:-1], marks[1:], strict=True):
            phases[name].append((end - begin) / 1e9)
    totals = [sum(parts) for parts in zip(*phases.values(), strict=True)]
    return {
        "samples": per_assertion,
        "session_s": totals,
        "phases_s": phases,
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """The peak resident set size of this process, in MiB."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


MEASURES: dict[str, Callable[..., Coroutine[Any, Any, dict[str, Any]]]] = {
    "per_call": per_call,
    "lifecycle": lifecycle,
    "assertions": assertions,
}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    contender = contenders.make(spec.pop("contender"), spec.pop("dsn", None))
    measure = MEASURES[spec.pop("measure")]
    # The libraries are imported by now: what the measure adds comes on top.
    baseline = peak_rss_mb()
    result = asyncio.run(measure(contender, **spec))
    result["baseline_rss_mb"] = baseline
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
