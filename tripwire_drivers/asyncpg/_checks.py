"""Checks asyncpg makes on the client side, shared by every fake that queries.

Each function runs on the error path only: the per-call path decides with a
cheap comparison whether to call it.  The connection's own state is checked
first, as asyncpg checks it before anything else.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from tripwire_core import ClientCheckError, Session

from ._query import argument_count_error, check_timeout, parameter_count, query_type_error

__all__ = [
    "OVERLAP_MESSAGE",
    "argument_rows",
    "bad_query",
    "check_argument_rows",
    "check_keywords",
    "check_record_class",
    "not_supported",
    "refuse_arguments",
    "refuse_client",
    "timeout_checked",
]

OVERLAP_MESSAGE = "cannot perform operation: another operation is in progress"


def refuse_client(session: Session, step: str, fields: dict[str, Any], message: str) -> None:
    """Refuse *step* with asyncpg's ``InterfaceError(message)``."""
    session.check(step, fields)
    raise session.plugin.refuse(
        ClientCheckError,
        message,
        native=asyncpg.InterfaceError,
        note=f"{session.label}: {step}() refused before reaching the script.",
    )


def bad_query(
    session: Session, step: str, query: Any, simple: bool, fields: dict[str, Any]
) -> None:
    """Raise what asyncpg raises for a query that is not a str."""
    session.check(step, fields)
    error, fatal = query_type_error(query, simple)
    if fatal:
        # asyncpg's protocol gives up on the connection after this error.
        session.transition("abort")
    raise error


def refuse_arguments(
    session: Session, step: str, query: Any, args: tuple[Any, ...], fields: dict[str, Any]
) -> None:
    """Refuse a call whose arguments do not fit the query's ``$n`` parameters."""
    if query.__class__ is not str:
        bad_query(session, step, query, False, fields)
    session.check(step, fields)
    expected = parameter_count(query)
    message, hint = argument_count_error(expected, len(args))
    uses = f"query uses parameters up to ${expected}" if expected else "query has no $n parameters"
    error = session.plugin.refuse(
        ClientCheckError,
        message,
        native=asyncpg.InterfaceError,
        note=f"{session.label}: {step}() refused before reaching the script: the {uses} and "
        f"{len(args)} argument(s) were passed, so asyncpg would refuse it too.",
    )
    error.hint = hint  # type: ignore[attr-defined]
    raise error


def timeout_checked(session: Session, step: str, timeout: Any, fields: dict[str, Any]) -> None:
    """Raise as asyncpg does for a ``timeout=`` it cannot use."""
    try:
        check_timeout(timeout)
    except BaseException:
        session.check(step, fields)
        raise


def check_record_class(
    session: Session, step: str, record_class: Any, fields: dict[str, Any]
) -> None:
    """Refuse a ``record_class=`` asyncpg would refuse."""
    if isinstance(record_class, type) and issubclass(record_class, asyncpg.Record):
        if "__new__" in vars(record_class) or "__init__" in vars(record_class):
            refuse_client(
                session, step, fields, "record_class must not redefine __new__ or __init__"
            )
        return
    refuse_client(
        session,
        step,
        fields,
        f"record_class is expected to be a subclass of asyncpg.Record, got {record_class!r}",
    )


def check_keywords(
    session: Session, step: str, timeout: Any, record_class: Any, fields: dict[str, Any]
) -> None:
    """The checks of ``timeout=`` and ``record_class=``, for calls that pass either."""
    if record_class is not None:
        check_record_class(session, step, record_class, fields)
    if timeout is not None:
        timeout_checked(session, step, timeout, fields)


def argument_rows(args: Any) -> list[Any]:
    """``executemany``/``fetchmany`` argument sets, as recorded (lists)."""
    return [list(row) if isinstance(row, (list, tuple)) else row for row in args]


def check_argument_rows(
    session: Session, step: str, query: Any, rows: list[Any], fields: dict[str, Any]
) -> None:
    """Refuse a query that is not a str, or any argument set that does not fit it."""
    if query.__class__ is not str:
        bad_query(session, step, query, False, fields)
    expected = parameter_count(query)
    for row in rows:
        if not isinstance(row, list) or len(row) != expected:
            refuse_arguments(session, step, query, tuple(row), fields)


def not_supported(owner: str, name: str) -> str:
    """The message refusing ``asyncpg.<owner>.<name>()``, a method the fake lacks."""
    return (
        f"asyncpg.{owner}.{name}() is not supported by tripwire's asyncpg fake; "
        "tripwire refuses it rather than return a silent mock."
    )
