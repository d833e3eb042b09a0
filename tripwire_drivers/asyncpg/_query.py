"""Client-side query checks asyncpg makes, with asyncpg's wording."""

from __future__ import annotations

import re

__all__ = ["argument_count_error", "parameter_count"]

# Literals, quoted identifiers, comments and dollar-quoted bodies can hold a
# `$n` that is not a parameter; they are matched first and skipped.
_TOKENS = re.compile(
    r"""
      (?P<skip>
          [eE]'(?:[^'\\]|\\.|'')*'?        # escape string E'...'
        | '(?:[^']|'')*'?                  # standard string
        | "(?:[^"]|"")*"?                  # quoted identifier
        | --[^\n]*                         # line comment
        | /\*.*?(?:\*/|\Z)                 # block comment
        | (?P<tag>\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$).*?(?:(?P=tag)|\Z)   # dollar quote
      )
    | \$(?P<number>[0-9]+)
    """,
    re.VERBOSE | re.DOTALL,
)


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


# Applications use a bounded set of query texts; a plain dict beats
# lru_cache on the per-call path, and is reset if it ever grows too large.
_CACHE_SIZE = 4096
_counts: dict[str, int] = {}


def _count(query: str) -> int:
    highest = 0
    for match in _TOKENS.finditer(query):
        number = match.group("number")
        if number is not None:
            highest = max(highest, int(number))
    return highest


_ZERO_HINT = (
    "  Note that parameters are supported only in SELECT, INSERT, UPDATE, DELETE, MERGE "
    "and VALUES statements, and will *not* work in statements  like CREATE VIEW or "
    "DECLARE CURSOR."
)


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
