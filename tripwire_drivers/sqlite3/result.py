"""What a scripted ``execute``/``executemany`` returns.

A test scripts the rows a statement yields, as a list of tuples (``[]`` for
a statement that yields none).  When the code also reads ``rowcount``,
``lastrowid`` or ``description``, the test scripts a :class:`Result`, which
carries those too.  Values the test did not script are refused when read,
rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["UNSCRIPTED", "Result", "to_many_result", "to_result"]


class _Unscripted:
    """Marks a value the script does not give (``None`` is a real lastrowid)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSCRIPTED"


UNSCRIPTED: Any = _Unscripted()


@dataclass(frozen=True)
class Result:
    """The scripted outcome of one ``execute`` or ``executemany`` call.

    ``rows``: the rows the statement yields, each a tuple (lists are turned
    into tuples), all of one width.  ``rowcount``, ``lastrowid``: what the
    cursor reports afterwards.  ``columns``: the column names, from which
    ``cursor.description`` is built (``()`` for no description).
    """

    rows: Any = ()
    rowcount: int | None = None
    lastrowid: int | None = None
    columns: Any = None

    def __post_init__(self) -> None:
        rows = _rows(self.rows)
        object.__setattr__(self, "rows", rows)
        for name in ("rowcount", "lastrowid"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise TypeError(f"{name} must be an int, got {value!r}")
        if self.columns is not None:
            columns = _columns(self.columns)
            if rows and len(columns) != len(rows[0]):
                raise ValueError(
                    f"{len(columns)} columns {list(columns)} for rows of {len(rows[0])}"
                )
            object.__setattr__(self, "columns", columns)

    @property
    def description(self) -> tuple[tuple[Any, ...], ...] | None:
        """``cursor.description`` as sqlite3 builds it: name, then six Nones."""
        if not self.columns:
            return None
        return tuple((name, None, None, None, None, None, None) for name in self.columns)


def to_result(value: Any) -> Result:
    """The ``returns`` converter of ``execute``: rows or a :class:`Result`."""
    if isinstance(value, Result):
        return value
    if value is None:
        raise TypeError("execute returns rows; script [] for a statement that yields none")
    return Result(rows=value)


def to_many_result(value: Any) -> Result:
    """The ``returns`` converter of ``executemany``: sqlite3 discards its rows."""
    result = to_result(value)
    if result.rows:
        raise ValueError("executemany() yields no rows in sqlite3 (it discards them); script []")
    if result.lastrowid is not None:
        raise ValueError("executemany() leaves lastrowid unchanged in sqlite3; do not script it")
    if result.columns:
        raise ValueError("executemany() leaves description None in sqlite3; do not script columns")
    return result


def _rows(value: Any) -> tuple[tuple[Any, ...], ...]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(f"rows are a list of tuples, got {type(value).__name__}")
    rows = []
    for number, row in enumerate(value, 1):
        if not isinstance(row, (tuple, list)):
            raise TypeError(
                f"row {number} is a {type(row).__name__}; sqlite3 returns each row as a tuple"
            )
        rows.append(tuple(row))
        if len(rows[-1]) != len(rows[0]):
            raise ValueError(
                f"row {number} has {len(rows[-1])} values but row 1 has {len(rows[0])}"
            )
    return tuple(rows)


def _columns(value: Any) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"columns are a list of names, got {type(value).__name__}")
    columns = tuple(value)
    if not all(isinstance(name, str) for name in columns):
        raise TypeError(f"column names must be str, got {list(columns)!r}")
    return columns
