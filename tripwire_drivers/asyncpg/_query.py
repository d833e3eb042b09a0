"""Client-side query checks asyncpg makes, with asyncpg's wording."""

from __future__ import annotations

import asyncio
import re

import asyncpg

__all__ = [
    "argument_count_error",
    "comment_end",
    "check_timeout",
    "parameter_count",
    "query_type_error",
]

# A `$n` inside a literal, a quoted or plain identifier (PostgreSQL allows `$`
# in identifiers), a comment or a dollar-quoted body is not a parameter.
_SCANNED = re.compile(
    r"""
      (?P<number>\$[0-9]+)
    | (?P<dollar>\$(?:[A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*)?\$)
    | (?P<comment>/\*)
    | [eE]'(?:[^'\\]|\\.|'')*'?
    | '(?:[^']|'')*'?
    | "(?:[^"]|"")*"?
    | --[^\n]*
    | [A-Za-z_\x80-\uffff][A-Za-z_0-9$\x80-\uffff]*
    """,
    re.VERBOSE | re.DOTALL,
)
_COMMENT_PART = re.compile(r"/\*|\*/")

# Applications use a bounded set of query texts; a plain dict beats
# lru_cache on the per-call path, and is reset if it ever grows too large.
_CACHE_SIZE = 4096
_counts: dict[str, int] = {}


def parameter_count(query: object) -> int:
    """How many arguments PostgreSQL expects: the highest ``$n`` referenced.

    -1 for a query that is not a str, which no argument list fits.
    """
    try:
        return _counts[query]  # type: ignore[index]
    except KeyError:
        pass
    except TypeError:
        return -1
    if not isinstance(query, str):
        return -1
    if len(_counts) >= _CACHE_SIZE:
        _counts.clear()
    count = _counts[query] = _count(query)
    return count


def _count(query: str) -> int:
    highest = 0
    position = 0
    while True:
        match = _SCANNED.search(query, position)
        if match is None:
            return highest
        position = match.end()
        if match.group("number"):
            highest = max(highest, int(match.group("number")[1:]))
        elif match.group("dollar"):
            end = query.find(match.group("dollar"), position)
            position = len(query) if end < 0 else end + len(match.group("dollar"))
        elif match.group("comment"):
            position = comment_end(query, position)


def comment_end(query: str, position: int) -> int:
    # PostgreSQL block comments nest.
    depth = 1
    for part in _COMMENT_PART.finditer(query, position):
        depth += 1 if part.group() == "/*" else -1
        if depth == 0:
            return part.end()
    return len(query)


_ZERO_HINT = (
    "  Note that parameters are supported only in SELECT, INSERT, UPDATE, DELETE, MERGE "
    "and VALUES statements, and will *not* work in statements  like CREATE VIEW or "
    "DECLARE CURSOR."
)
if tuple(int(p) for p in asyncpg.__version__.split(".")[:2]) < (0, 30):  # pragma: no cover
    _ZERO_HINT = _ZERO_HINT.replace("DELETE, MERGE and", "DELETE and")


def argument_count_error(expected: int, passed: int) -> tuple[str, str]:
    """asyncpg's message and hint when *passed* arguments do not fit the query."""
    hint = "Check the query against the passed list of arguments."
    if expected == 0:
        hint += _ZERO_HINT
    message = (
        f"the server expects {expected} argument{'s' if expected != 1 else ''} for this "
        f"query, {passed} {'was' if passed == 1 else 'were'} passed"
    )
    return message, hint


_STR_WORD = (
    "unicode" if tuple(int(p) for p in asyncpg.__version__.split(".")[:2]) < (0, 31) else "str"
)


def query_type_error(query: object, simple: bool) -> tuple[BaseException, bool]:
    """What asyncpg raises for a query that is not a str, and whether it kills the connection.

    *simple* is the simple-query protocol (``execute`` without arguments).
    """
    if simple and query is None:
        return AttributeError("'NoneType' object has no attribute 'encode'"), True
    if not simple and not hasattr(query, "__len__"):
        # The statement cache measures the query before anything is sent.
        return TypeError(f"object of type '{type(query).__name__}' has no len()"), False
    return TypeError(f"Expected {_STR_WORD}, got {type(query).__name__}"), True


def check_timeout(timeout: object) -> None:
    """Raise as asyncpg does for a ``timeout=`` it cannot use."""
    try:
        if isinstance(timeout, bool):
            raise ValueError
        # A TypeError from float() reaches the caller as is, as in asyncpg.
        seconds = float(timeout)  # type: ignore[arg-type]
    except ValueError:
        raise ValueError(
            f"invalid timeout value: expected non-negative float (got {timeout!r})"
        ) from None
    if seconds <= 0:
        raise asyncio.TimeoutError
