"""The benchmark runner works end to end on a tiny plan (no timing is checked)."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.postgres
def test_a_tiny_run_measures_every_section(tmp_path: Path, postgres_dsn: str) -> None:
    output = tmp_path / "results.json"
    # pytest-tripwire is left out: its virtualenv would be installed from the index.
    command = [sys.executable, "-m", "benchmarks", "--smoke", "--no-pytest-tripwire"]
    done = subprocess.run(
        [*command, "--output", str(output)],
        cwd=ROOT,
        env={**os.environ, "TRIPWIRE_TEST_DSN": postgres_dsn},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(output.read_text())
    assert set(results["per_call_us"]) == {"tripwire", "asyncmock", "postgres"}
    assert set(results["lifecycle_us"]) == {"tripwire"}
    assert set(results["assert_us"]) == {"100", "200"}
    assert set(results["suite_s"]) == {"tripwire", "postgres", "floor"}
    assert set(results["import_ms"]) == {"tripwire"}
    assert results["peak_rss_mb_200"] > 0
    assert {target["name"] for target in results["targets"] if target["met"] is None} == {
        "per call: pytest-tripwire / tripwire",
        "100,000-step session: script + run + assert",
    }
    assert "per call: await conn.fetchval" in done.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--show", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == done.stdout


def test_both_suites_hold_the_same_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    suite = importlib.import_module("benchmarks.suite")
    names = {}
    for variant in suite.VARIANTS:
        suite.write_suite(tmp_path / variant, variant, tests=12, per_file=5)
        files = sorted((tmp_path / variant).glob("test_*.py"))
        assert len(files) == 3
        text = "".join(path.read_text() for path in files)
        names[variant] = re.findall(r"^async def (test_\w+)\(", text, re.MULTILINE)
    assert len(names["tripwire"]) == 12
    assert names["tripwire"] == names["postgres"] == names["floor"]
