"""The pool's query shortcuts: ``pool.fetch()``, ``pool.execute()``, COPY, and the like.

Each is a step of the pool's own session.  asyncpg runs each on a
connection of its own, acquired and released around it; the fake runs
Connection's own checks and methods on the pool's session instead, so a
shortcut records the same fields as the connection method it stands for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._pool_refusals import unsupported_attribute
from .connection import Connection

__all__ = ["PoolShortcuts", "ShortcutQueries"]


class PoolShortcuts:
    """The pool's query shortcuts: each is a step of the pool's session.

    asyncpg runs each on a connection of its own; the fake runs Connection's
    own checks and methods on the pool's session (see :class:`ShortcutQueries`).
    """

    __slots__ = ()

    # What runs the shortcuts while the pool is ready and has a connection
    # free (the fast path); otherwise None, and _borrow() raises or waits.
    _ready_queries: ShortcutQueries | None

    if TYPE_CHECKING:

        async def _borrow(self, step: str) -> ShortcutQueries: ...

    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:
        queries = self._ready_queries or await self._borrow("execute")
        return await queries.execute(query, *args, timeout=timeout)

    async def executemany(self, command: str, args: Any, *, timeout: float | None = None) -> None:
        queries = self._ready_queries or await self._borrow("executemany")
        await queries.executemany(command, args, timeout=timeout)

    async def fetch(
        self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None
    ) -> list[Any]:
        queries = self._ready_queries or await self._borrow("fetch")
        return await queries.fetch(query, *args, timeout=timeout, record_class=record_class)

    async def fetchval(
        self, query: str, *args: Any, column: int | str = 0, timeout: float | None = None
    ) -> Any:
        queries = self._ready_queries or await self._borrow("fetchval")
        return await queries.fetchval(query, *args, column=column, timeout=timeout)

    async def fetchrow(
        self, query: str, *args: Any, timeout: float | None = None, record_class: Any = None
    ) -> Any:
        queries = self._ready_queries or await self._borrow("fetchrow")
        return await queries.fetchrow(query, *args, timeout=timeout, record_class=record_class)

    async def fetchmany(
        self, query: str, args: Any, *, timeout: float | None = None, record_class: Any = None
    ) -> list[Any]:
        queries = self._ready_queries or await self._borrow("fetchmany")
        return await queries.fetchmany(query, args, timeout=timeout, record_class=record_class)

    async def _copy(self, step: str, *args: Any, **keywords: Any) -> str:
        # The COPY shortcuts' shared body: *keywords* come from their locals().
        queries = self._ready_queries or await self._borrow(step)
        result: str = await getattr(queries, step)(*args, **keywords)
        return result

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
        return await self._copy("copy_from_table", table_name, **_keywords(locals(), "table_name"))

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
        return await self._copy(
            "copy_from_query", query, *args, **_keywords(locals(), "query", "args")
        )

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
        return await self._copy("copy_to_table", table_name, **_keywords(locals(), "table_name"))

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
        return await self._copy(
            "copy_records_to_table", table_name, **_keywords(locals(), "table_name")
        )


class ShortcutQueries(Connection):
    """Connection's query methods, run as the pool's shortcuts on the pool's session.

    Each shortcut uses a connection of its own, so nothing overlaps, and the
    transaction a shortcut opens ends at its release.
    """

    def _call(self, step: str, fields: dict[str, Any]) -> Any:
        return self._session.call(step, fields)

    def _after_simple_query(self, query: Any) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return unsupported_attribute(self, name)


# The keyword arguments a COPY shortcut was called with, from its locals()
# (taken before any other local exists).
def _keywords(arguments: dict[str, Any], *positional: str) -> dict[str, Any]:
    return {k: v for k, v in arguments.items() if k != "self" and k not in positional}
