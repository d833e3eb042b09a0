"""Rows as asyncpg returns them: the default look-alike, or genuine Records.

Scripted dicts become :class:`Record`, a look-alike of ``asyncpg.Record``
(index by position or name, ``get`` by name only, ``keys``/``values``/
``items`` iterators, iteration over values, equality and hashing as a
tuple) that also compares equal to a mapping with the same items, so
``rows == [{"id": 1}]`` holds as the guide documents.

:func:`record` and :func:`records` build genuine ``asyncpg.Record`` objects
through the factory asyncpg's own tests use; they pass through
:func:`to_record` unchanged and keep asyncpg's equality (tuples, not
dicts).  Without the factory they fall back to a look-alike with that same
equality.  :func:`with_record_class` gives rows the class a call's
``record_class=`` names.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import asyncpg

__all__ = [
    "Record",
    "as_record_class",
    "genuine_records",
    "is_genuine",
    "record",
    "records",
    "to_record",
    "to_records",
    "with_record_class",
]

_GENUINE: Any = asyncpg.Record
# What asyncpg's messages call the type: 'asyncpg.Record' up to 0.30.
_GENUINE_NAME = f"{_GENUINE.__module__}.Record"
# CPython words the refusal to pickle a variable-size object without state
# this way from 3.11 ("cannot pickle 'X' object" before).
_MODERN_PICKLE = sys.version_info >= (3, 11)
_NO_KEY: Any = object()


class Record:
    """A read-only row: positional and named access, like ``asyncpg.Record``."""

    __slots__ = ("_index", "_keys", "_values")

    #: Whether a row equals a mapping with the same items (tripwire's default rows).
    _equals_mappings: ClassVar[bool] = True
    #: The class name repr shows, as asyncpg shows a record class's own name.
    _name: ClassVar[str] = "Record"
    _pickle_name: ClassVar[str] = _GENUINE_NAME

    # Code under test that dispatches on isinstance(row, asyncpg.Record) takes
    # the same branch as in production: isinstance() consults __class__ when
    # type() does not match.
    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return _GENUINE  # type: ignore[no-any-return]

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

    def get(self, key: Any = _NO_KEY, default: Any = None, /, *more: Any, **kw: Any) -> Any:
        """``get(name[, default])``: the value of column *name* (names only), else *default*."""
        if more or kw or key is _NO_KEY:
            # asyncpg counts the positional arguments first, then refuses keywords.
            if key is _NO_KEY or more:
                given = 2 + len(more) if more else 0
                raise TypeError(f"Record.get() expected 1 or 2 arguments, got {given}")
            raise TypeError("Record.get() takes no keyword arguments")
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
        if isinstance(other, _GENUINE):
            return self._values == tuple(other)
        if isinstance(other, Mapping) and self._equals_mappings:
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
        if isinstance(other, _GENUINE):
            return tuple(other)
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
            return f"<{self._name}>"
        return f"<{self._name} " + " ".join(f"{k}={v!r}" for k, v in self.items()) + ">"

    def __reduce__(self) -> Any:
        if _MODERN_PICKLE:
            raise TypeError(f"cannot pickle {self._pickle_name} objects")
        raise TypeError(f"cannot pickle '{self._pickle_name}' object")


class _ExactRecord(Record):
    """The look-alike with asyncpg's own equality: equal to tuples, not to dicts."""

    __slots__ = ()
    _equals_mappings = False


# Genuine Records.


def _find_factory() -> Callable[[dict[str, int], tuple[Any, ...]], Any] | None:
    """asyncpg's private record factory, if present and working as expected."""
    try:
        from asyncpg.protocol import protocol
    except ImportError:  # pragma: no cover - asyncpg without its protocol module
        return None
    factory = getattr(protocol, "_create_record", None)
    if factory is None:
        return None
    try:
        probe = factory({"a": 0, "b": 1}, (1, "x"))
        works = (
            type(probe) is _GENUINE
            and probe[0] == 1
            and probe["b"] == "x"
            and tuple(probe.keys()) == ("a", "b")
            and probe == (1, "x")
        )
    except Exception:
        return None
    return factory if works else None


_factory = _find_factory()


def genuine_records() -> bool:
    """Whether :func:`record` and :func:`records` build genuine ``asyncpg.Record`` objects.

    False when the installed asyncpg lacks the private factory; they then
    build look-alikes with the same equality (see :func:`is_genuine`).
    """
    return _factory is not None


def is_genuine(row: object) -> bool:
    """Whether *row* is a genuine ``asyncpg.Record`` (not a look-alike passing ``isinstance``)."""
    return issubclass(type(row), _GENUINE)


def record(columns: Mapping[str, Any] | None = None, /, **named: Any) -> Any:
    """One genuine ``asyncpg.Record``: ``record(id=1, name="Alice")`` or ``record({"id": 1})``.

    It equals ``(1, "Alice")`` and not ``{"id": 1, "name": "Alice"}``, as a
    row from the server.  Column order is the order given.
    """
    values = dict(columns) if columns is not None else {}
    overlap = values.keys() & named.keys()
    if overlap:
        raise ValueError(f"record(): column(s) {sorted(overlap)} given twice")
    values.update(named)
    names = tuple(values)
    _check_names(names, "record()")
    return _build(names, {name: i for i, name in enumerate(names)}, tuple(values.values()))


def records(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[Any]:
    """Genuine ``asyncpg.Record`` rows: ``records(["id", "name"], [(1, "a"), (2, "b")])``."""
    if isinstance(columns, str):
        raise TypeError(f"records() needs a list of column names, got the str {columns!r}")
    names = tuple(columns)
    _check_names(names, "records()")
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise TypeError(f"records() needs a list of rows (tuples), got {type(rows).__name__}")
    index = {name: i for i, name in enumerate(names)}
    built = []
    for number, row in enumerate(rows, start=1):
        if isinstance(row, (str, bytes, Mapping)) or not isinstance(row, Iterable):
            raise TypeError(
                f"records(): row {number} is a {type(row).__name__}; give each row as a tuple "
                f"of {len(names)} value(s), in the order of {list(names)}"
            )
        values = tuple(row)
        if len(values) != len(names):
            raise ValueError(
                f"records(): row {number} has {len(values)} value(s) but there are "
                f"{len(names)} columns {list(names)}"
            )
        built.append(_build(names, index, values))
    return built


def _check_names(names: tuple[Any, ...], where: str) -> None:
    if not all(isinstance(name, str) for name in names):
        raise TypeError(f"{where}: column names must be str, got {list(names)!r}")
    if len(set(names)) != len(names):
        # asyncpg's factory maps names to positions, so a repeated name
        # (SELECT 1 AS a, 2 AS a) cannot be built.
        raise ValueError(f"{where}: duplicate column names {list(names)} cannot be built")


def _build(names: tuple[str, ...], index: dict[str, int], values: tuple[Any, ...]) -> Any:
    factory = _factory
    if factory is None:
        return _ExactRecord._shared(names, index, values)
    return factory(index, values)


# Scripted rows.


def to_record(row: Any) -> Any:
    """One scripted row: a dict becomes a :class:`Record`; Records pass unchanged."""
    if isinstance(row, Record) or type(row) is _GENUINE:
        return row
    if isinstance(row, Mapping):
        if not all(isinstance(k, str) for k in row):
            raise TypeError(f"column names must be str, got {list(row)!r}")
        return Record(row)
    if isinstance(row, _GENUINE):
        return row
    raise TypeError(f"a row is a dict of column name to value, got {type(row).__name__}")


def to_records(rows: Any) -> list[Any]:
    """Scripted rows as Records (dict rows share one column index); columns must agree."""
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise TypeError(f"expected a list of rows (dicts), got {type(rows).__name__}")
    converted = [to_record(row) for row in rows]
    if not converted:
        return converted
    first = converted[0]
    if type(first) is Record:
        keys = first._keys
        index = first._index
        for number, row in enumerate(converted[1:], start=2):
            if type(row) is not Record:
                raise _mixed(number, row, first)
            if row._keys != keys:
                raise _columns(number, row._keys, keys)
        return [Record._shared(keys, index, r._values) for r in converted]
    # Rows from record()/records(): genuine Records (or their fallback look-alikes).
    keys = _keys_of(first)
    for number, row in enumerate(converted[1:], start=2):
        if type(row) is Record:
            raise _mixed(number, row, first)
        if _keys_of(row) != keys:
            raise _columns(number, _keys_of(row), keys)
    return converted


def _keys_of(row: Any) -> tuple[str, ...]:
    return row._keys if isinstance(row, Record) else tuple(row.keys())


def _columns(number: int, keys: tuple[str, ...], first: tuple[str, ...]) -> ValueError:
    return ValueError(f"row {number} has columns {list(keys)} but row 1 has {list(first)}")


def _mixed(number: int, row: Any, first: Any) -> TypeError:
    def kind(value: Any) -> str:
        return "a dict" if type(value) is Record else "made by record()/records()"

    return TypeError(
        f"row {number} is {kind(row)} but row 1 is {kind(first)}: script every row of a result "
        "the same way (all dicts, or all from record()/records()), as rows of one result "
        "compare alike"
    )


# record_class=


def with_record_class(rows: list[Any], record_class: type | None) -> list[Any]:
    """*rows* as instances of a call's ``record_class=`` (unchanged for ``None``/``Record``)."""
    if record_class is None or record_class is _GENUINE:
        return rows
    return [as_record_class(row, record_class) for row in rows]


def as_record_class(row: Any, record_class: type | None) -> Any:
    """One row (or ``None``) as an instance of *record_class*, a subclass of ``asyncpg.Record``.

    asyncpg builds such rows in C only; the fake returns a look-alike that
    passes ``isinstance(row, record_class)``, runs the class's own methods
    and shows its name, with the row's equality (a dict row keeps the
    look-alike's, a genuine Record keeps asyncpg's).  ``type(row)`` is not
    *record_class*, and a method that calls ``super()`` into
    ``asyncpg.Record`` cannot run on it.
    """
    if row is None or record_class is None or record_class is _GENUINE:
        return row
    if isinstance(row, Record):
        view = _view(record_class, exact=not row._equals_mappings)
        return view._shared(row._keys, row._index, row._values)
    if isinstance(row, _GENUINE):
        keys = tuple(row.keys())
        index = {name: i for i, name in enumerate(keys)}
        return _view(record_class, exact=True)._shared(keys, index, tuple(row))
    raise TypeError(f"expected a Record, got {type(row).__name__}")


_views: dict[tuple[type, bool], type[Record]] = {}
# Names of the look-alike's own machinery a record class must not shadow.
_INTERNAL = frozenset(n for n in vars(Record) if n.startswith("_") and not n.startswith("__"))
# Attributes tied to the layout of the user's class, not to its behaviour.
_LAYOUT = frozenset({"__dict__", "__weakref__", "__slots__", "__class__"})


def _view(record_class: type, *, exact: bool) -> type[Record]:
    key = (record_class, exact)
    view = _views.get(key)
    if view is None:
        view = _views[key] = _make_view(record_class, exact)
    return view


def _make_view(record_class: type, exact: bool) -> type[Record]:
    if not (isinstance(record_class, type) and issubclass(record_class, _GENUINE)):
        raise TypeError(
            f"record_class is expected to be a subclass of asyncpg.Record, got {record_class!r}"
        )
    # The class's own attributes, resolved in its MRO order: a name asyncpg.Record
    # defines is answered by the look-alike from that point on.
    namespace: dict[str, Any] = {}
    taken: set[str] = set()
    for klass in record_class.__mro__:
        if klass is object:
            break
        if klass is _GENUINE:
            taken.update(vars(klass))
            continue
        for name, value in vars(klass).items():
            if name in taken or name in _LAYOUT:
                continue
            if name in _INTERNAL:
                raise TypeError(
                    f"record_class {record_class.__name__} defines {name!r}, which tripwire's "
                    "Record look-alike uses itself; rename that attribute"
                )
            taken.add(name)
            namespace[name] = value
    namespace["_name"] = namespace["_pickle_name"] = record_class.__name__
    # isinstance() and super() consult __class__ when type() does not match.
    namespace["__class__"] = property(lambda self: record_class)
    base = _ExactRecord if exact else Record
    return type(record_class.__name__, (base,), namespace)
