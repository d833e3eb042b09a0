"""Transaction control statements the code sends itself through ``execute()``.

PostgreSQL's transaction status follows a ``BEGIN`` or ``COMMIT`` whoever
sends it; the fake recognises them by their leading words, cached per text.
"""

from __future__ import annotations

import re
from typing import Any

from ._query import comment_end

__all__ = ["BEGIN", "END", "RESUME", "control"]

# Statements sent through execute() that move the server's transaction status.
BEGIN, END, RESUME = "begin", "end", "resume"
_CACHE_SIZE = 4096
_controls: dict[str, str | None] = {}
_WORD = re.compile(r"[A-Za-z]+")
_CONTROL_WORDS = frozenset({"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "PREPARE"})


def control(query: Any) -> str | None:
    """What a simple-protocol *query* does to the transaction, by its leading words."""
    try:
        return _controls[query]
    except KeyError:
        pass
    except TypeError:
        return None
    if not isinstance(query, str):
        return None
    if len(_controls) >= _CACHE_SIZE:
        _controls.clear()
    kind = _controls[query] = _classify(query)
    return kind


def _classify(query: str) -> str | None:
    position = _skip_comments(query)
    first = _WORD.match(query, position)
    if first is None or first.group().upper() not in _CONTROL_WORDS:
        return None
    statement = query[position:].partition(";")[0]
    words = [word.upper() for word in _WORD.findall(statement, 0, 200)[:6]]
    second = words[1] if len(words) > 1 else ""
    if words[0] == "BEGIN" or (words[0], second) == ("START", "TRANSACTION"):
        return BEGIN
    if words[0] == "PREPARE":
        return END if second == "TRANSACTION" else None
    if second == "PREPARED":
        return None  # COMMIT PREPARED: another transaction, allowed only outside one
    if words[0] == "ROLLBACK" and "TO" in words[1:3]:
        return RESUME
    if "CHAIN" in words and "NO" not in words:
        return RESUME  # AND CHAIN: a new transaction starts at once
    return END


def _skip_comments(query: str) -> int:
    position, size = 0, len(query)
    while position < size:
        if query[position].isspace():
            position += 1
        elif query.startswith("--", position):
            newline = query.find("\n", position)
            position = size if newline < 0 else newline + 1
        elif query.startswith("/*", position):
            position = comment_end(query, position + 2)  # nested, as in _query
        else:
            break
    return position
