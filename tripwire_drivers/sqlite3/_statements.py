"""What sqlite3 learns from an SQL string before it runs it.

The fake never executes SQL, but sqlite3 makes decisions from the text
alone: whether a statement opens a transaction implicitly, how many
parameters it binds and under which names, whether ``executemany`` accepts
it, and whether there is more than one statement.  :func:`analyse` works all
of that out once per distinct SQL string (it is cached), so the per-call
cost is a dictionary lookup.
"""

from __future__ import annotations

import functools
import re

__all__ = ["Statement", "analyse", "lstrip_sql"]

# sqlite3 skips exactly these whitespace bytes and both comment styles when
# it looks at the start of a statement (lstrip_sql in Modules/_sqlite).
_LEADING = re.compile(r"(?:[ \t\f\n\r]+|--[^\n]*(?:\n|\Z)|/\*.*?(?:\*/|\Z))*", re.DOTALL)

_ID_CHAR = r"[A-Za-z0-9_$\x80-\U0010FFFF]"

# One token per match.  Literals, quoted identifiers, comments and bare words
# are matched first so that a `?` or `:name` inside them is not a parameter
# (a word also swallows the `$` of an identifier such as `a$b`).
_TOKENS = re.compile(
    rf"""
      '(?:[^']|'')*'?                      # string literal
    | "(?:[^"]|"")*"?                      # quoted identifier
    | `(?:[^`]|``)*`?                      # MySQL-style identifier
    | \[[^\]]*\]?                          # MS-style identifier
    | --[^\n]*                             # line comment
    | /\*.*?(?:\*/|\Z)                     # block comment
    | (?P<end>;)
    | \?(?P<number>[0-9]*)
    | (?P<name>[:@$](?:{_ID_CHAR}|::)+(?:\([^)\s]*\))?)
    | (?P<word>[A-Za-z_\x80-\U0010FFFF]{_ID_CHAR}*)
    """,
    re.VERBOSE | re.DOTALL,
)

# sqlite3's own rule for the implicit BEGIN: a case-insensitive *prefix*
# test, not a word test, after the leading whitespace and comments.
_DML = re.compile(r"insert|update|delete|replace", re.IGNORECASE)
_KEYWORD = re.compile(r"[A-Za-z_]+")

_NAME = r"""(?:"(?:[^"]|"")*"|\[[^\]]*\]|`(?:[^`]|``)*`|'(?:[^']|'')*'|[^\s;]+)"""
_CONTROL = re.compile(
    rf"""
      (?P<begin>BEGIN)\b
    | (?P<commit>COMMIT|END)\b
    | ROLLBACK\b(?:\s+TRANSACTION\b)?(?:\s+TO\b(?:\s+SAVEPOINT\b)?\s+(?P<to>{_NAME}))?
    | SAVEPOINT\s+(?P<savepoint>{_NAME})
    | RELEASE\b(?:\s+SAVEPOINT\b)?\s+(?P<release>{_NAME})
    """,
    re.IGNORECASE | re.VERBOSE,
)

_CONTROL_KEYWORDS = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"})
_WRITE_WORDS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})
_INSERT_WORDS = frozenset({"INSERT", "REPLACE"})


class Statement:
    """The facts about one SQL string that the fake acts on."""

    __slots__ = (
        "control",
        "count",
        "dml",
        "inserts",
        "multiple",
        "names",
        "query",
        "readonly",
        "writes",
    )

    def __init__(self, sql: str) -> None:
        head = lstrip_sql(sql)
        keyword = _keyword(head)
        words, count, names, end = _scan(sql)
        #: opens a transaction implicitly (legacy isolation levels)
        self.dml = _DML.match(head) is not None
        #: may change rows (total_changes); a WITH clause is judged by its words
        self.writes = self.dml or (keyword == "WITH" and not words.isdisjoint(_WRITE_WORDS))
        #: may change the connection's last inserted rowid
        self.inserts = keyword in _INSERT_WORDS or (
            keyword == "WITH" and not words.isdisjoint(_INSERT_WORDS)
        )
        #: refused by executemany(), which sqlite3 decides with sqlite3_stmt_readonly()
        self.readonly = _readonly(head, keyword, self.writes)
        #: yields rows (and a description) even when there are none
        self.query = self.readonly and keyword not in _CONTROL_KEYWORDS and bool(keyword)
        #: the highest parameter index: what sqlite3_bind_parameter_count() returns
        self.count = count
        #: parameter names by index (from 1), None for a nameless `?`
        self.names = names
        #: more than one statement: sqlite3 refuses those in execute()
        self.multiple = end is not None and bool(lstrip_sql(sql[end + 1 :]))
        #: explicit transaction control: (action, savepoint name or "")
        self.control = _control(head) if keyword in _CONTROL_KEYWORDS else None


@functools.lru_cache(maxsize=4096)
def analyse(sql: str) -> Statement:
    """The (cached) :class:`Statement` for *sql*."""
    return Statement(sql)


def lstrip_sql(sql: str) -> str:
    """*sql* without the leading whitespace and comments, as sqlite3 strips them."""
    match = _LEADING.match(sql)
    return sql[match.end() :] if match else sql


def _keyword(head: str) -> str:
    match = _KEYWORD.match(head)
    return match.group().upper() if match else ""


def _scan(sql: str) -> tuple[frozenset[str], int, tuple[str | None, ...], int | None]:
    # Parameter indexes follow SQLite: `?` takes the next index, `?NNN` that
    # index, and a name reuses its index when it appears again.
    words: set[str] = set()
    by_index: dict[int, str] = {}
    by_name: dict[str, int] = {}
    highest = 0
    end: int | None = None
    for match in _TOKENS.finditer(sql):
        kind = match.lastgroup
        if kind is None:
            continue
        if kind == "word":
            words.add(match.group().upper())
        elif kind == "end":
            # Whatever follows belongs to another statement (or is refused).
            end = match.start()
            break
        elif kind == "number":
            digits = match.group("number")
            if not digits:
                highest += 1
                continue
            index = int(digits)
            by_name.setdefault(match.group(), index)
            by_index.setdefault(index, match.group())
            highest = max(highest, index)
        else:
            name = match.group()
            index = by_name.get(name, 0)
            if not index:
                highest += 1
                index = by_name[name] = highest
                by_index[index] = name
    names = tuple(by_index.get(i) for i in range(1, highest + 1))
    return frozenset(words), highest, names, end


def _readonly(head: str, keyword: str, writes: bool) -> bool:
    # An approximation of sqlite3_stmt_readonly(): checked against sqlite3.
    if keyword in ("SELECT", "VALUES") or keyword in _CONTROL_KEYWORDS or not keyword:
        return True
    if keyword == "WITH":
        return not writes
    if keyword == "PRAGMA":
        return "=" not in head
    if keyword == "EXPLAIN":
        inner = re.sub(r"^EXPLAIN\s+(?:QUERY\s+PLAN\s+)?", "", head, flags=re.IGNORECASE)
        return _readonly(inner, _keyword(inner), False)
    return False


def _control(head: str) -> tuple[str, str] | None:
    match = _CONTROL.match(head)
    if match is None:
        return None
    for action in ("begin", "commit"):
        if match.group(action):
            return action, ""
    for action, group in (
        ("rollback_to", "to"),
        ("savepoint", "savepoint"),
        ("release", "release"),
    ):
        name = match.group(group)
        if name:
            return action, name
    return "rollback", ""
