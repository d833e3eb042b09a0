"""Rows as asyncpg returns them, built from the dicts a test scripts.

:class:`Record` behaves like ``asyncpg.Record`` (index by position or name,
``get`` by name only, ``keys``/``values``/``items`` iterators, iteration
over values, equality and hashing as a tuple) and also compares equal to a
mapping with the same items, so ``rows == [{"id": 1}]`` holds as the guide
documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = ["Record", "to_record", "to_records"]


class Record:
    """A read-only row: positional and named access, like ``asyncpg.Record``."""

    __slots__ = ("_index", "_keys", "_values")

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        keys = tuple(mapping)
        self._keys = keys
        self._values = tuple(mapping.values())
        self._index = {name: i for i, name in enumerate(keys)}

    @classmethod
    def _shared(
        cls, keys: tuple[str, ...], index: dict[str, int], values: tuple[Any, ...]
    ) -> Record:
        # Rows of one result share their column index.
        record = cls.__new__(cls)
        record._keys = keys
        record._index = index
        record._values = values
        return record

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, int):
            try:
                return self._values[key]
            except IndexError:
                raise IndexError("record index out of range") from None
        if isinstance(key, slice):
            return self._values[key]
        try:
            return self._values[self._index[key]]
        except (KeyError, TypeError):
            raise KeyError(key) from None

    def get(self, key: Any, default: Any = None, /) -> Any:
        """The value of column *key* (names only, as asyncpg), else *default*."""
        try:
            position = self._index.get(key)
        except TypeError:
            return default
        return default if position is None else self._values[position]

    def keys(self) -> Iterator[str]:
        return iter(self._keys)

    def values(self) -> Iterator[Any]:
        return iter(self._values)

    def items(self) -> Iterator[tuple[str, Any]]:
        return zip(self._keys, self._values, strict=True)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._index
        except TypeError:
            return False

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return self._values == other._values
        if isinstance(other, tuple):
            return self._values == other
        if isinstance(other, Mapping):
            return dict(zip(self._keys, self._values, strict=True)) == dict(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self._values)

    def _ordered(self, other: object) -> tuple[Any, ...] | None:
        if isinstance(other, Record):
            return other._values
        if isinstance(other, tuple):
            return other
        return None

    def __lt__(self, other: object) -> bool:
        values = self._ordered(other)
        return NotImplemented if values is None else self._values < values

    def __le__(self, other: object) -> bool:
        values = self._ordered(other)
        return NotImplemented if values is None else self._values <= values

    def __gt__(self, other: object) -> bool:
        values = self._ordered(other)
        return NotImplemented if values is None else self._values > values

    def __ge__(self, other: object) -> bool:
        values = self._ordered(other)
        return NotImplemented if values is None else self._values >= values

    def __repr__(self) -> str:
        if not self._keys:
            return "<Record>"
        return "<Record " + " ".join(f"{k}={v!r}" for k, v in self.items()) + ">"

    def __reduce__(self) -> Any:
        raise TypeError("cannot pickle 'Record' object")


def to_record(row: Any) -> Record:
    """One scripted row (a mapping or a Record) as a :class:`Record`."""
    if isinstance(row, Record):
        return row
    if isinstance(row, Mapping):
        if not all(isinstance(k, str) for k in row):
            raise TypeError(f"column names must be str, got {list(row)!r}")
        return Record(row)
    raise TypeError(f"a row is a dict of column name to value, got {type(row).__name__}")


def to_records(rows: Any) -> list[Record]:
    """Scripted rows as Records sharing one column index; columns must agree."""
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise TypeError(f"expected a list of rows (dicts), got {type(rows).__name__}")
    converted = [to_record(row) for row in rows]
    if not converted:
        return converted
    keys = converted[0]._keys
    index = converted[0]._index
    for number, record in enumerate(converted[1:], start=2):
        if record._keys != keys:
            raise ValueError(
                f"row {number} has columns {list(record._keys)} but row 1 has {list(keys)}"
            )
    return [Record._shared(keys, index, r._values) for r in converted]
