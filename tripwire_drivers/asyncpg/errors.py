"""Server errors for scripts: :func:`pg_error` builds them as asyncpg does.

asyncpg turns the server's ErrorResponse into an exception with
``PostgresError.new(fields, query)``: the SQLSTATE picks the subclass and
each protocol field becomes an attribute.  :func:`pg_error` calls that same
public classmethod, so a scripted error has the class, ``str()`` and fields
of one the server would send::

    session.expect("execute", raises=pg_error(
        "23505",
        'duplicate key value violates unique constraint "users_email_key"',
        detail="Key (email)=(a@b.c) already exists.",
        constraint_name="users_email_key",
        table_name="users",
    ))
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg

__all__ = ["FIELD_CODES", "pg_error"]

#: Attribute name -> the ErrorResponse field code asyncpg reads it from.
FIELD_CODES: dict[str, str] = {
    "severity": "S",
    "severity_en": "V",
    "sqlstate": "C",
    "message": "M",
    "detail": "D",
    "hint": "H",
    "position": "P",
    "internal_position": "p",
    "internal_query": "q",
    "context": "W",
    "schema_name": "s",
    "table_name": "t",
    "column_name": "c",
    "data_type_name": "d",
    "constraint_name": "n",
    "server_source_filename": "F",
    "server_source_line": "L",
    "server_source_function": "R",
}

# The server sends every field as text; these are numbers in that text.
_NUMERIC = frozenset({"position", "internal_position", "server_source_line"})
_SQLSTATE = re.compile(r"[0-9A-Z]{5}")
# SQLSTATE classes 00, 01 and 02 are not errors (asyncpg maps 01/02 to warnings).
_COMPLETION = frozenset({"00", "01", "02"})
# Keyword fields pg_error takes besides its named parameters.
_MORE = frozenset(FIELD_CODES) - {
    "sqlstate",
    "message",
    "detail",
    "hint",
    "constraint_name",
    "table_name",
    "schema_name",
    "column_name",
    "data_type_name",
}


def pg_error(
    sqlstate: str | type[BaseException],
    message: str,
    *,
    detail: str | None = None,
    hint: str | None = None,
    constraint_name: str | None = None,
    table_name: str | None = None,
    schema_name: str | None = None,
    column_name: str | None = None,
    data_type_name: str | None = None,
    query: str | None = None,
    **more: Any,
) -> Any:
    """A ``PostgresError`` as asyncpg builds it from the server's error, not raised.

    *sqlstate* is the five-character code (``"23505"``) or an asyncpg
    error class (``asyncpg.UniqueViolationError``); the result is the
    subclass asyncpg picks for the code (``UnknownPostgresError`` for a
    code it does not know).  *more* takes the other fields by attribute
    name: ``severity`` (default ``"ERROR"``), ``severity_en`` (default:
    as ``severity``), ``position``, ``context``, ``internal_query``,
    ``internal_position``, ``server_source_filename``/``_line``/``_function``.
    *schema_name* defaults to ``"public"`` when *table_name* or
    *data_type_name* is given, as the server always sends it with them.
    *query* becomes ``.query``, as asyncpg sets it to the failed query.
    """
    code = _code(sqlstate)
    if not isinstance(message, str):
        raise TypeError(f"pg_error(): message must be a str, got {type(message).__name__}")
    unknown = more.keys() - _MORE
    if unknown:
        raise TypeError(
            f"pg_error() got unexpected keyword argument(s) {sorted(unknown)}; "
            f"the other fields are {sorted(_MORE)}"
        )
    if schema_name is None and (table_name is not None or data_type_name is not None):
        # The server names the schema whenever it names a table or a type.
        schema_name = "public"
    severity = more.pop("severity", "ERROR")
    given = {
        "severity": severity,
        "severity_en": more.pop("severity_en", severity),
        "sqlstate": code,
        "message": message,
        "detail": detail,
        "hint": hint,
        "schema_name": schema_name,
        "table_name": table_name,
        "column_name": column_name,
        "data_type_name": data_type_name,
        "constraint_name": constraint_name,
        **more,
    }
    fields = {}
    for name, value in given.items():
        if value is None:
            continue
        if name in _NUMERIC and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        elif not isinstance(value, str):
            raise TypeError(f"pg_error(): {name} must be a str, got {value!r}")
        fields[FIELD_CODES[name]] = value
    if query is not None and not isinstance(query, str):
        raise TypeError(f"pg_error(): query must be a str, got {query!r}")
    return asyncpg.PostgresError.new(fields, query=query)


def _code(sqlstate: str | type[BaseException]) -> str:
    """The SQLSTATE to send, checked: five characters naming an error, not a warning."""
    if isinstance(sqlstate, type):
        code = getattr(sqlstate, "sqlstate", None)
        if not issubclass(sqlstate, asyncpg.PostgresError) or code is None:
            raise TypeError(
                f"pg_error() needs a SQLSTATE such as '23505' or an asyncpg error class that "
                f"has one (asyncpg.UniqueViolationError), got {sqlstate.__name__}"
            )
        return str(code)
    if not isinstance(sqlstate, str) or _SQLSTATE.fullmatch(sqlstate) is None:
        raise ValueError(
            "pg_error(): a SQLSTATE is five digits or upper-case letters, such as '23505' "
            f"(unique_violation) or '40001' (serialization_failure); got {sqlstate!r}"
        )
    if sqlstate[:2] in _COMPLETION:
        raise ValueError(
            f"pg_error(): SQLSTATE {sqlstate!r} is a completion condition (success, warning or "
            "no data), which the server reports as a notice, not an error; errors start at "
            "class 03"
        )
    return sqlstate
