"""Statement descriptions: what the server reports for a prepared query.

A :class:`Statement` is the ``returns`` of a ``prepare`` step: the types of
the query's parameters, the columns of its result, its command status.
Types are written by name as asyncpg reports them (``'int4'``, ``'text[]'``)
and converted to ``asyncpg.types.Type`` with the built-in type tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asyncpg.protocol.protocol import BUILTIN_TYPE_NAME_MAP, BUILTIN_TYPE_OID_MAP
from asyncpg.types import Attribute, Type

from tripwire_core import NOTHING

__all__ = ["Statement", "pg_type", "statement_or_none"]


def _table(text: str, width: int) -> dict[str, tuple[int, ...]]:
    words = text.split()
    rows = (words[i : i + width] for i in range(0, len(words), width))
    return {name: tuple(int(n) for n in numbers) for name, *numbers in rows}


# pg_type.typarray of common built-in types: their arrays need no Type(...).
_ARRAYS = _table(
    """
    bool 1000  bytea 1001  char 1002  name 1003  int2 1005  int4 1007  int8 1016
    text 1009  oid 1028  json 199  jsonb 3807  xml 143  float4 1021  float8 1022
    numeric 1231  money 791  bpchar 1014  varchar 1015  date 1182  time 1183
    timetz 1270  timestamp 1115  timestamptz 1185  interval 1187  uuid 2951
    inet 1041  cidr 651  macaddr 1040  bit 1561  varbit 1563  point 1017
    tsvector 3643  record 2287
    """,
    2,
)
# Range and multirange types: oid, array oid.
_RANGES = _table(
    """
    int4range 3904 3905  int8range 3926 3927  numrange 3906 3907  tsrange 3908 3909
    tstzrange 3910 3911  daterange 3912 3913  int4multirange 4451 6150
    int8multirange 4536 6157  nummultirange 4532 6151  tsmultirange 4533 6152
    tstzmultirange 4534 6153  datemultirange 4535 6155
    """,
    3,
)
_CANONICAL: dict[str, int] = {name: oid for oid, name in BUILTIN_TYPE_OID_MAP.items()}


def pg_type(spec: Any, where: str = "type") -> Any:
    """``asyncpg.types.Type`` for a built-in type name as asyncpg reports it.

    ``'int4'``, ``'integer'`` (an alias), ``'int4[]'``, ``'tstzrange'``; any
    other type (an enum, a domain, a composite) is given as a ``Type``.
    """
    if isinstance(spec, Type):
        return spec
    if not isinstance(spec, str):
        raise TypeError(
            f"{where}: a type is a name such as 'int4' or an asyncpg.types.Type, got {spec!r}"
        )
    name = spec.strip().lower()
    array = name.endswith("[]")
    base = name[:-2].strip() if array else name
    known = _known(base)
    if known is not None:
        canonical, oid, kind = known
        if not array:
            return Type(oid, canonical, kind, "pg_catalog")
        array_oid = (
            _RANGES[canonical][1] if canonical in _RANGES else _ARRAYS.get(canonical, (0,))[0]
        )
        if array_oid:
            return Type(array_oid, f"{canonical}[]", "array", "pg_catalog")
    raise ValueError(
        f"{where}: tripwire does not know the type {spec!r}; describe it as asyncpg reports "
        "it: asyncpg.types.Type(oid, name, kind, schema), e.g. Type(16394, 'mood', 'scalar', "
        "'public') (get_parameters() on a real connection shows it)"
    )


def _known(name: str) -> tuple[str, int, str] | None:
    oid = _CANONICAL.get(name)
    if oid is None and name in _RANGES:
        return name, _RANGES[name][0], "multirange" if "multirange" in name else "range"
    if oid is None:
        oid = BUILTIN_TYPE_NAME_MAP.get(name)
    if oid is None:
        return None
    canonical = BUILTIN_TYPE_OID_MAP[oid]
    return None if canonical.endswith("[]") else (canonical, oid, "scalar")


@dataclass(frozen=True, repr=False)
class Statement:
    """What the server reports for a prepared query: the ``prepare`` step's ``returns``.

    ``parameters``: the type of each ``$n``, in order, as names (``'int4'``,
    ``'text[]'``) or ``asyncpg.types.Type``.  ``columns``: the result's
    columns, a dict or ``(name, type)`` pairs; ``()`` for a statement that
    returns no rows.  ``status``: what ``get_statusmsg()`` reports after an
    execution (``'UPDATE 3'``; ``None`` is asyncpg's answer after a
    ``fetchrow``/``fetchval`` that stopped at its one row); left out, reading
    it after an execution is refused.  Converted on construction, so
    ``Statement(parameters=('int4',)).parameters`` holds ``Type`` objects.
    """

    parameters: Sequence[Any] = ()
    columns: Mapping[str, Any] | Sequence[Any] = ()
    status: Any = NOTHING

    def __post_init__(self) -> None:
        parameters = self.parameters
        if isinstance(parameters, (str, bytes, Mapping)):
            raise TypeError(
                "Statement(parameters=...) takes a sequence of types such as ('int4', 'text'), "
                f"got {parameters!r}"
            )
        converted = tuple(pg_type(p, f"parameter ${n}") for n, p in enumerate(parameters, 1))
        object.__setattr__(self, "parameters", converted)
        object.__setattr__(self, "columns", _attributes(self.columns))
        if not (self.status is NOTHING or self.status is None or isinstance(self.status, str)):
            raise TypeError(
                f"Statement(status=...) is a str such as 'UPDATE 1', got {self.status!r}"
            )

    def __repr__(self) -> str:
        status = "" if self.status is NOTHING else f", status={self.status!r}"
        return f"Statement(parameters={self.parameters!r}, columns={self.columns!r}{status})"


def _attributes(columns: Any) -> tuple[Any, ...]:
    if isinstance(columns, (str, bytes)):
        raise TypeError(f"Statement(columns=...) is a dict or (name, type) pairs, got {columns!r}")
    pairs = columns.items() if isinstance(columns, Mapping) else columns
    result = []
    for pair in pairs:
        try:
            name, kind = pair
        except (TypeError, ValueError):
            raise TypeError(
                f"Statement(columns=...): each column is a (name, type) pair, got {pair!r}"
            ) from None
        if not isinstance(name, str):
            raise TypeError(f"Statement(columns=...): a column name is a str, got {name!r}")
        result.append(Attribute(name, pg_type(kind, f"column {name!r}")))
    return tuple(result)


def statement_or_none(value: Any) -> Statement | None:
    """The ``returns`` of a ``prepare`` step: ``None`` or a :class:`Statement`."""
    if value is None or isinstance(value, Statement):
        return value
    raise TypeError(f"expected None or a Statement(parameters=..., columns=...), got {value!r}")
