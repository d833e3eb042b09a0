"""Every code block in README.md and docs/ is executed (or checked) here.

Conventions, so a page can be both read and run:

- ```` ```python ```` blocks of one page are joined, in order, into one test
  module run by pytest (with the tripwire plugin, asyncio auto mode).  Code
  at module level runs at import; ``test_*`` functions run as tests.
- ```` ```python file=PATH ```` blocks show a repository file: the block must
  equal the file (the file itself runs with the test suite), and it is not
  joined into the page's module.
- ```` ```console ```` blocks are shell commands: each must be a ``make``
  target that exists or a ``pip install`` of this distribution.
- ```` ```text ```` blocks are output or diagrams, checked by nothing here.

Any other language tag fails the test, so nothing slips through unrun.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
KNOWN = {"python", "console", "text", "mermaid"}

INI = (
    "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    "filterwarnings = error\n"
)


def blocks(page: Path) -> list[tuple[str, str]]:
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(page.read_text())]


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_every_page_has_blocks_of_known_kinds() -> None:
    assert PAGES, "no documentation pages found"
    for page in PAGES:
        for info, _ in blocks(page):
            kind = info.split()[0] if info else ""
            assert kind in KNOWN, f"{page_id(page)}: code block tagged {info!r}; use one of {KNOWN}"


def has_python(page: Path) -> bool:
    return any(info == "python" for info, _ in blocks(page))


@pytest.mark.parametrize("page", [p for p in PAGES if has_python(p)], ids=page_id)
def test_python_blocks_run(page: Path, pytester: pytest.Pytester) -> None:
    code = [body for info, body in blocks(page) if info == "python"]
    pytester.makeini(INI)
    pytester.makepyfile(**{f"test_{page.stem.replace('-', '_').lower()}": "\n\n".join(code)})
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_file_blocks_match_the_repository(page: Path) -> None:
    for info, body in blocks(page):
        match = re.fullmatch(r"python file=(\S+)", info)
        if match:
            path = ROOT / match.group(1)
            assert path.is_file(), f"{page_id(page)} shows {match.group(1)}, which does not exist"
            assert body == path.read_text(), f"{page_id(page)}: the block differs from {path}"


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_console_blocks_are_real_commands(page: Path) -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([A-Za-z][\w-]*):", makefile, re.MULTILINE))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = set(project["optional-dependencies"])
    for info, body in blocks(page):
        if info != "console":
            continue
        for line in filter(None, (raw.strip() for raw in body.splitlines())):
            command = line.removeprefix("$ ")
            if command.startswith("make "):
                target = command.split()[1]
                assert target in targets, f"{page_id(page)}: `{command}` is not a Makefile target"
            elif command.startswith("pip install "):
                spec = command.split()[2].strip("'\"")
                name, _, rest = spec.partition("[")
                assert name == project["name"], f"{page_id(page)}: installs {name!r}"
                for extra in filter(None, rest.rstrip("]").split(",")):
                    assert extra in extras, f"{page_id(page)}: no extra {extra!r}"
            else:
                pytest.fail(f"{page_id(page)}: cannot check console command {command!r}")
