"""COPY: ``copy_records_to_table``, ``copy_to_table``, ``copy_from_table``, ``copy_from_query``.

Each method is one scripted step, legal on a connection and, as a pool
shortcut, on a pool.  What is recorded:

- ``copy_records_to_table``: ``table_name`` and ``records``, the rows read
  from the (async) iterable as tuples of what asyncpg sends;
- ``copy_to_table``: ``table_name`` and ``data``, the bytes read from
  ``source`` (a path, a file-like object, an async iterable of bytes or a
  buffer), instead of ``source`` itself;
- ``copy_from_table``/``copy_from_query``: ``table_name`` or ``query`` and
  ``args``; ``output`` is not recorded: the test reads what the fake wrote;
- every keyword option, when given (not ``None``).

``copy_from_*`` write their step's scripted data to ``output``, as asyncpg
writes what the server sends: ``returns`` is the bytes, or a
:class:`CopyOut` (data and status), or just the status ``'COPY n'``.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import asyncpg.exceptions
import asyncpg.utils

from tripwire_core import NOTHING, ClientCheckError, InvalidStateError, RefusalError, Session, Step

from ._assertions import Assertions
from ._checks import refuse_arguments
from ._query import parameter_count
from ._steps import OPEN, given
from .listeners import settle_deliveries
from .server import ServerInfo

__all__ = ["COPY_STEPS", "CopyAssertions", "CopyMethods", "CopyOut", "copy_status"]

# COPY is legal on a connection and, as a pool shortcut, on a pool.
USABLE = (*OPEN, "pool_ready")

_STATUS = re.compile(r"COPY [0-9]+\Z")
_READ_SIZE = 524288  # what asyncpg asks a file-like source for at a time


def copy_status(value: Any) -> str:
    """The ``returns`` of a COPY into a table: its status, ``'COPY n'``."""
    if not isinstance(value, str) or not _STATUS.match(value):
        raise TypeError(f"expected a status string such as 'COPY 3', got {value!r}")
    return value


@dataclass(frozen=True)
class CopyOut:
    """What a scripted ``copy_from_table``/``copy_from_query`` sends: data and status.

    *data* is bytes, or a list of bytes chunks written one by one.  Without
    *status* the fake counts the rows of *data*: its lines (for CSV, those
    outside quotes), less a ``header=True`` line; binary data needs *status*.
    """

    data: bytes | Sequence[bytes] = b""
    status: str | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        data = self.data
        if isinstance(data, (bytes, bytearray, memoryview)):
            chunks: tuple[bytes, ...] = (bytes(data),)
        elif isinstance(data, (list, tuple)) and all(
            isinstance(chunk, (bytes, bytearray, memoryview)) for chunk in data
        ):
            chunks = tuple(bytes(chunk) for chunk in data)
        else:
            raise TypeError(f"CopyOut data must be bytes or a list of bytes, got {data!r}")
        object.__setattr__(self, "data", chunks[0] if len(chunks) == 1 else chunks)
        if self.status is not None:
            copy_status(self.status)

    @property
    def chunks(self) -> tuple[bytes, ...]:
        """The data as asyncpg hands it to ``output``: one write per non-empty chunk."""
        data = self.data
        chunks = (data,) if isinstance(data, bytes) else tuple(data)
        return tuple(chunk for chunk in chunks if chunk)


def copy_out(value: Any) -> CopyOut:
    """The ``returns`` of a COPY out of the server: a CopyOut, its bytes, or a status."""
    if isinstance(value, CopyOut):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return CopyOut(bytes(value))
    if isinstance(value, str):
        return CopyOut(status=copy_status(value))
    raise TypeError(f"expected the bytes written to output, a CopyOut or 'COPY n', got {value!r}")


_OUT_DOC = "the bytes written to output, CopyOut(data, status='COPY n'), or 'COPY n'"

COPY_STEPS = (
    Step("copy_from_table", USABLE, None, ("table_name",), copy_out, _OUT_DOC),
    Step("copy_from_query", USABLE, None, ("query", "args"), copy_out, _OUT_DOC),
    Step("copy_to_table", USABLE, None, ("table_name", "data"), copy_status, "a status 'COPY n'"),
    Step(
        "copy_records_to_table",
        USABLE,
        None,
        ("table_name", "records"),
        copy_status,
        "a status 'COPY n'",
    ),
)

# The options each direction passes to asyncpg's formatting, in its signature's
# order (copy_to_table takes force_quote too, but leaves it out of the COPY).
_OUT_OPTIONS = (
    "format",
    "oids",
    "delimiter",
    "null",
    "header",
    "quote",
    "escape",
    "force_quote",
    "encoding",
)
_IN_OPTIONS = (
    "format",
    "oids",
    "freeze",
    "delimiter",
    "null",
    "header",
    "quote",
    "escape",
    "force_not_null",
    "force_null",
    "encoding",
)

# The closed-connection message of the COPY paths that go straight to the protocol.
_PROTOCOL_CLOSED = "cannot perform operation: connection is closed"


class CopyMethods:
    """COPY methods of the fake connection (and of the pool's shortcuts)."""

    _session: Session
    _info: ServerInfo

    if TYPE_CHECKING:
        # Provided by Connection.
        def _call(self, step: str, fields: dict[str, Any]) -> Any: ...

    async def copy_from_table(
        self,
        table_name: str,
        *,
        output: Any,
        columns: Any = None,
        schema_name: Any = None,
        timeout: Any = None,
        format: Any = None,
        oids: Any = None,
        delimiter: Any = None,
        null: Any = None,
        header: Any = None,
        quote: Any = None,
        escape: Any = None,
        force_quote: Any = None,
        encoding: Any = None,
    ) -> str:
        fields: dict[str, Any] = {"table_name": table_name}
        self._copy_state("copy_from_table", fields, _PROTOCOL_CLOSED)
        _target(fields, table_name, columns, schema_name)
        options = _options(fields, timeout, locals(), _OUT_OPTIONS)
        _check_timeout(timeout)
        return await self._copy_out("copy_from_table", fields, output, options)

    async def copy_from_query(
        self,
        query: str,
        *args: Any,
        output: Any,
        timeout: Any = None,
        format: Any = None,
        oids: Any = None,
        delimiter: Any = None,
        null: Any = None,
        header: Any = None,
        quote: Any = None,
        escape: Any = None,
        force_quote: Any = None,
        encoding: Any = None,
    ) -> str:
        fields: dict[str, Any] = {"query": query, "args": list(args)}
        # With arguments asyncpg prepares the query first, which checks the connection.
        self._copy_state("copy_from_query", fields, None if args else _PROTOCOL_CLOSED)
        options = _options(fields, timeout, locals(), _OUT_OPTIONS)
        if args and parameter_count(query) != len(args):
            refuse_arguments(self._session, "copy_from_query", query, args, fields)
        _check_timeout(timeout)
        return await self._copy_out("copy_from_query", fields, output, options)

    async def copy_to_table(
        self,
        table_name: str,
        *,
        source: Any,
        columns: Any = None,
        schema_name: Any = None,
        timeout: Any = None,
        format: Any = None,
        oids: Any = None,
        freeze: Any = None,
        delimiter: Any = None,
        null: Any = None,
        header: Any = None,
        quote: Any = None,
        escape: Any = None,
        force_quote: Any = None,
        force_not_null: Any = None,
        force_null: Any = None,
        encoding: Any = None,
        where: Any = None,
    ) -> str:
        fields: dict[str, Any] = {"table_name": table_name}
        self._copy_state("copy_to_table", fields, _PROTOCOL_CLOSED)
        _target(fields, table_name, columns, schema_name)
        # asyncpg leaves force_quote out of a COPY FROM, but takes it.
        if force_quote is not None:
            fields["force_quote"] = force_quote
        _options(fields, timeout, locals(), _IN_OPTIONS)
        self._check_where("copy_to_table", fields, where)
        _check_timeout(timeout)
        data = await _read(source)
        result: str = self._call("copy_to_table", _with(fields, "data", data))
        await settle_deliveries(self)
        return result

    async def copy_records_to_table(
        self,
        table_name: str,
        *,
        records: Any,
        columns: Any = None,
        schema_name: Any = None,
        timeout: Any = None,
        where: Any = None,
    ) -> str:
        fields: dict[str, Any] = {"table_name": table_name}
        self._copy_state("copy_records_to_table", fields, None)
        names = _target(fields, table_name, columns, schema_name)
        if timeout is not None:
            fields["timeout"] = timeout
        self._check_where("copy_records_to_table", fields, where)
        _check_timeout(timeout)
        width = len(names) if names else None
        if isinstance(records, AsyncIterable):
            rows = [_row(row, width) async for row in records]
        else:
            rows = [_row(row, width) for row in records]
        result: str = self._call("copy_records_to_table", _with(fields, "records", rows))
        if where is None and result != f"COPY {len(rows)}":
            self._inconsistent_status(len(rows), result)
        await settle_deliveries(self)
        return result

    # Helpers.

    def _copy_state(self, step: str, fields: dict[str, Any], closed: str | None) -> None:
        """Refuse a COPY the connection's state forbids, with asyncpg's wording."""
        session = self._session
        if closed is not None and session.state == "closed":
            session.check_sandbox(step)
            raise session.plugin.refuse(
                InvalidStateError,
                closed,
                native=asyncpg.InterfaceError,
                note=f"{session.label} is closed: {step}() is not allowed there.",
            )
        session.check(step, fields)

    def _check_where(self, step: str, fields: dict[str, Any], where: Any) -> None:
        if where is None:
            return
        fields["where"] = where
        if where and self._info.server_version.major < 12:
            session = self._session
            raise session.plugin.refuse(
                ClientCheckError,
                "the `where` parameter requires PostgreSQL 12 or later",
                native=asyncpg.exceptions.UnsupportedServerFeatureError,
                note=f"{session.label}: the connect step's ServerInfo says PostgreSQL "
                f"{self._info.server_version.major}.",
            )

    async def _copy_out(
        self, step: str, fields: dict[str, Any], output: Any, options: dict[str, Any]
    ) -> str:
        path = _path(output)
        if path is None and not hasattr(output, "write") and not callable(output):
            raise TypeError(
                "output is expected to be a file-like object, a path-like object or a "
                f"coroutine function, not {type(output).__name__}"
            )
        # asyncpg opens a path before it sends the COPY, so a failed COPY leaves it empty.
        file = open(path, "wb") if path is not None else None  # noqa: SIM115
        try:
            result: CopyOut = self._call(step, fields)
            status = result.status or self._count(result, options)
            for chunk in result.chunks:
                # asyncpg hands each chunk over as a bytearray.
                if file is not None:
                    file.write(bytearray(chunk))
                elif hasattr(output, "write"):
                    output.write(bytearray(chunk))
                else:
                    await output(bytearray(chunk))
        finally:
            if file is not None:
                file.close()
        await settle_deliveries(self)
        return status

    def _count(self, result: CopyOut, options: dict[str, Any]) -> str:
        """The status PostgreSQL sends with *result*'s data: ``COPY <rows>``."""
        data = b"".join(result.chunks)
        kind = str(options.get("format") or "text").lower()
        if kind == "binary":
            session = self._session
            raise session.plugin.refuse(
                RefusalError,
                f"{session.label}: a binary COPY is scripted with its data only; tripwire "
                "does not count binary rows. Script the status too: "
                "returns=CopyOut(data, status='COPY n').",
            )
        if kind == "csv":
            quote = (options.get("quote") or '"').encode()
            # Line breaks inside quoted values are data, not row ends.
            quoted = re.escape(quote) + b".*?(?:" + re.escape(quote) + b"|$)"
            data = re.sub(quoted, b"", data, flags=re.DOTALL)
        rows = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        if options.get("header") and rows:
            rows -= 1
        return f"COPY {rows}"

    def _inconsistent_status(self, rows: int, status: str) -> None:
        # Recorded, not raised: the code gets what the script says, the test fails.
        session = self._session
        session.plugin.refuse(
            RefusalError,
            f"{session.label}: copy_records_to_table() sent {rows} record(s) without where=, "
            f"so PostgreSQL answers 'COPY {rows}', but the script returns {status!r}.\n"
            f'Script .expect("copy_records_to_table", returns="COPY {rows}").',
        )


class CopyAssertions(Assertions):
    """Typed ``assert_*`` helpers for COPY steps (options asserted as ``None`` need no match)."""

    def assert_copy_records_to_table(
        self, *, table_name: Any = NOTHING, records: Any = NOTHING, **extra: Any
    ) -> None:
        """Assert the next ``copy_records_to_table(table_name, records=...)``."""
        __tracebackhide__ = True
        fields = given(table_name=table_name, records=records, **_given_options(extra))
        self.assert_step("copy_records_to_table", **fields)

    def assert_copy_to_table(
        self, *, table_name: Any = NOTHING, data: Any = NOTHING, **extra: Any
    ) -> None:
        """Assert the next ``copy_to_table(table_name, source=...)``: *data* is what it read."""
        __tracebackhide__ = True
        fields = given(table_name=table_name, data=data, **_given_options(extra))
        self.assert_step("copy_to_table", **fields)

    def assert_copy_from_table(self, *, table_name: Any = NOTHING, **extra: Any) -> None:
        """Assert the next ``copy_from_table(table_name, output=...)``."""
        __tracebackhide__ = True
        self.assert_step("copy_from_table", **given(table_name=table_name, **_given_options(extra)))

    def assert_copy_from_query(
        self, *, query: Any = NOTHING, args: Any = NOTHING, **extra: Any
    ) -> None:
        """Assert the next ``copy_from_query(query, *args, output=...)``."""
        __tracebackhide__ = True
        fields = given(query=query, args=args, **_given_options(extra))
        self.assert_step("copy_from_query", **fields)


def _given_options(extra: dict[str, Any]) -> dict[str, Any]:
    # An option asserted as None is asyncpg's default, which the call did not record.
    return {name: value for name, value in extra.items() if value is not None}


def _target(
    fields: dict[str, Any], table_name: Any, columns: Any, schema_name: Any
) -> list[Any] | None:
    """Record and check the table, its columns and schema, quoted as asyncpg quotes them."""
    quote = asyncpg.utils._quote_ident
    quote(table_name)
    names = None
    if columns is not None:
        names = list(columns)
        fields["columns"] = names
    if schema_name is not None:
        fields["schema_name"] = schema_name
        if schema_name:
            quote(schema_name)
    for name in names or ():
        quote(name)
    return names


def _options(
    fields: dict[str, Any], timeout: Any, arguments: dict[str, Any], names: tuple[str, ...]
) -> dict[str, Any]:
    """Record the options given (*names*, from the method's locals()), and check them
    as asyncpg formats them."""
    if timeout is not None:
        fields["timeout"] = timeout
    options = {name: arguments[name] for name in names}
    given_options = {name: value for name, value in options.items() if value is not None}
    if given_options:
        fields.update(given_options)
        asyncpg.Connection._format_copy_opts(None, **options)
    return given_options


def _check_timeout(timeout: Any) -> None:
    # The COPY paths convert with float(): other errors than the query methods'.
    if timeout is not None and float(timeout) <= 0:
        raise asyncio.TimeoutError


def _row(row: Any, width: int | None) -> tuple[Any, ...]:
    """One record as asyncpg reads it: ``row[i]`` for each column."""
    if width is None:
        _ = row[0]  # the first read asyncpg makes: its error for a record not a sequence
        return tuple(row)
    return tuple(row[i] for i in range(width))


async def _read(source: Any) -> bytes:
    """The bytes asyncpg would send from *source*, read as asyncpg reads it."""
    path = _path(source)
    if path is not None:
        with open(path, "rb") as file:
            return _drain(file)
    if hasattr(source, "read"):
        return _drain(source)
    if isinstance(source, AsyncIterable):
        return b"".join([bytes(memoryview(chunk)) async for chunk in source])
    return bytes(memoryview(source))


def _path(target: Any) -> Any:
    """*target* as a path (``os.fspath``), or None if it is not path-like."""
    try:
        return os.fspath(target)
    except TypeError:
        return None


def _drain(file: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = file.read(_READ_SIZE)
        if len(chunk) == 0:
            return b"".join(chunks)
        chunks.append(bytes(memoryview(chunk)))


def _with(fields: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """*fields* with *name* second, after the table: the order of asyncpg's signature."""
    first, *rest = fields.items()
    return dict([first, (name, value), *rest])
