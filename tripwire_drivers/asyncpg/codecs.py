"""Type codecs and session resets: ``set_type_codec``, ``reset`` and friends.

Each is a scripted step, commonly taken in a pool's ``init`` hook.  The
fake applies no codec (rows are what the script returns): a test asserts
the codec the code set, the functions included.  Recorded: the type name,
the required keywords (``encoder`` and ``decoder``, ``codec_name``), and
``schema``/``format`` only when they differ from asyncpg's defaults.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asyncpg import protocol as _protocol

from tripwire_core import NOTHING, ClientCheckError, InvalidStateError, Session, Step

from ._assertions import Assertions
from ._checks import refuse_client
from ._steps import LIVE, given, none
from .listeners import ListenerMethods, forget_listeners, settle_deliveries

__all__ = ["CODEC_STEPS", "CodecAssertions", "CodecMethods"]

# The codec calls work on the client's type cache; asyncpg asks the server
# only to look a type up, so in a failed transaction a built-in type works.
CODEC_STEPS = (
    Step("set_type_codec", LIVE, None, ("typename", "encoder", "decoder"), none, "None"),
    Step("set_builtin_type_codec", LIVE, None, ("typename", "codec_name"), none, "None"),
    Step("reset_type_codec", LIVE, None, ("typename",), none, "None"),
    Step("reload_schema_state", LIVE, None, (), none, "None"),
    Step("reset", LIVE, "connected", (), none, "None"),
)

# Types asyncpg knows without asking the server (asyncpg 0.31+, pg_catalog).
_BUILTIN: frozenset[str] = frozenset(_protocol.BUILTIN_TYPE_NAME_MAP)


class CodecMethods:
    """Codec and reset methods of the fake connection."""

    _session: Session

    if TYPE_CHECKING:
        _top_xact: Any  # TransactionMethods': the top-level Transaction, if any

        # Provided by Connection.
        def _call(self, step: str, fields: dict[str, Any]) -> Any: ...

    async def set_type_codec(
        self,
        typename: str,
        *,
        schema: str = "public",
        encoder: Callable[..., Any],
        decoder: Callable[..., Any],
        format: str = "text",
    ) -> None:
        fields: dict[str, Any] = {"typename": typename}
        if schema != "public":
            fields["schema"] = schema
        fields["encoder"] = encoder
        fields["decoder"] = decoder
        if format != "text":
            fields["format"] = format
        self._look_up("set_type_codec", typename, schema, fields)
        if format not in ("text", "binary", "tuple"):
            refuse_client(
                self._session,
                "set_type_codec",
                fields,
                f"invalid `format` argument, expected 'text', 'binary' or 'tuple', got {format!r}",
            )
        self._call("set_type_codec", fields)
        await settle_deliveries(self)

    async def reset_type_codec(self, typename: str, *, schema: str = "public") -> None:
        fields: dict[str, Any] = {"typename": typename}
        if schema != "public":
            fields["schema"] = schema
        self._look_up("reset_type_codec", typename, schema, fields)
        self._call("reset_type_codec", fields)
        await settle_deliveries(self)

    async def set_builtin_type_codec(
        self,
        typename: str,
        *,
        schema: str = "public",
        codec_name: str,
        format: str | None = None,
    ) -> None:
        fields: dict[str, Any] = {"typename": typename}
        if schema != "public":
            fields["schema"] = schema
        fields["codec_name"] = codec_name
        if format is not None:
            fields["format"] = format
        self._look_up("set_builtin_type_codec", typename, schema, fields)
        if format not in (None, "text", "binary"):
            refuse_client(
                self._session,
                "set_builtin_type_codec",
                fields,
                f"invalid `format` argument, expected 'text' or 'binary', got {format!r}",
            )
        self._call("set_builtin_type_codec", fields)
        await settle_deliveries(self)

    async def reload_schema_state(self) -> None:
        self._call("reload_schema_state", {})
        await settle_deliveries(self)

    async def reset(self, *, timeout: float | None = None) -> None:
        session = self._session
        fields: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        if timeout is not None:
            try:
                # asyncpg's `async with timeout(timeout)` adds it to the loop's clock.
                _ = asyncio.get_running_loop().time() + timeout
            except TypeError:
                session.check("reset", fields)
                raise
        session.check("reset", fields)
        # asyncpg drops the listeners before it sends anything.
        if isinstance(self, ListenerMethods):
            forget_listeners(self)
        if timeout is not None and timeout <= 0:
            raise asyncio.TimeoutError
        if session.state != "connected":
            self._reset_transaction()
        self._call("reset", fields)
        ledger = getattr(self, "_transactions", None)
        if ledger is not None:
            ledger.settle(session.state)  # the transaction bookkeeping: none is open now
        await settle_deliveries(self)

    def _look_up(self, step: str, typename: Any, schema: Any, fields: dict[str, Any]) -> None:
        """asyncpg's type lookup: the server's answers the fake can tell in advance."""
        session = self._session
        known = isinstance(typename, str) and typename in _BUILTIN
        if session.state != "connected":
            session.check(step, fields)
            local = known and schema == "pg_catalog" and not typename.endswith("[]")
            if session.state == "failed_transaction" and not local:
                raise session.plugin.refuse(
                    InvalidStateError,
                    f"{session.label}: {step}() looks {schema}.{typename} up on the server, "
                    "which refuses every query in a failed transaction.",
                    state="failed_transaction",
                    step=step,
                )
        if known and schema == "public":
            self._unknown_type(step, typename, schema, fields)

    def _unknown_type(self, step: str, typename: str, schema: str, fields: dict[str, Any]) -> None:
        """Refuse a lookup of a built-in type in public, which the server cannot answer.

        Unless the script already says the call fails: then it runs, and
        raises what the script says.
        """
        session = self._session
        script = session.script
        if script and script[0].step == step and script[0].raises is not None:
            return
        session.check(step, fields)
        raise session.plugin.refuse(
            ClientCheckError,
            f"unknown type: {schema}.{typename}",
            native=ValueError,
            note=f"{session.label}: {step}() names {typename!r} in schema 'public', the "
            f"default, but {typename} is a built-in type, in pg_catalog: pass "
            "schema='pg_catalog'.",
        )

    def _reset_transaction(self) -> None:
        """reset() in a transaction: asyncpg complains unless ``async with`` runs it, rolls back."""
        top = getattr(self, "_top_xact", None)
        if top is None or not getattr(top, "_managed", False):
            asyncio.get_running_loop().call_exception_handler(
                {"message": f"Resetting connection with an active transaction {self!r}"}
            )
        if hasattr(self, "_top_xact"):
            self._top_xact = None


class CodecAssertions(Assertions):
    """Typed ``assert_*`` helpers for codec and reset steps.

    A keyword asserted with asyncpg's default value (``schema="public"``)
    matches a call that left it out, as the call recorded nothing for it.
    """

    def assert_set_type_codec(
        self,
        *,
        typename: Any = NOTHING,
        encoder: Any = NOTHING,
        decoder: Any = NOTHING,
        schema: Any = "public",
        format: Any = "text",
    ) -> None:
        """Assert the next ``set_type_codec(typename, ...)``."""
        __tracebackhide__ = True
        fields = given(typename=typename, encoder=encoder, decoder=decoder)
        if schema != "public":
            fields["schema"] = schema
        if format != "text":
            fields["format"] = format
        self.assert_step("set_type_codec", **fields)

    def assert_set_builtin_type_codec(
        self,
        *,
        typename: Any = NOTHING,
        codec_name: Any = NOTHING,
        schema: Any = "public",
        format: Any = None,
    ) -> None:
        """Assert the next ``set_builtin_type_codec(typename, codec_name=...)``."""
        __tracebackhide__ = True
        fields = given(typename=typename, codec_name=codec_name)
        if schema != "public":
            fields["schema"] = schema
        if format is not None:
            fields["format"] = format
        self.assert_step("set_builtin_type_codec", **fields)

    def assert_reset_type_codec(self, *, typename: Any = NOTHING, schema: Any = "public") -> None:
        """Assert the next ``reset_type_codec(typename)``."""
        __tracebackhide__ = True
        fields = given(typename=typename)
        if schema != "public":
            fields["schema"] = schema
        self.assert_step("reset_type_codec", **fields)

    def assert_reload_schema_state(self) -> None:
        """Assert the next ``reload_schema_state()``."""
        __tracebackhide__ = True
        self.assert_step("reload_schema_state")

    def assert_reset(self, *, timeout: Any = None) -> None:
        """Assert the next ``reset()`` (``timeout`` if the call passed one)."""
        __tracebackhide__ = True
        self.assert_step("reset", **({} if timeout is None else {"timeout": timeout}))
