"""Type-checked from the user's side (mypy --strict, run by `make typecheck`).

Never executed: it only has to type-check the way a user's test would.
"""

from __future__ import annotations

import asyncpg

import tripwire
from tripwire import StrictVerifier, UnusedMocksError
from tripwire.plugins.asyncpg_plugin import AsyncpgPlugin


async def scripted_test() -> None:
    handle = tripwire.asyncpg.new_session()
    handle.expect("connect", returns=None).expect("fetchval", returns=1, required=False)
    # `with tripwire:` works at run time but a module is not a context manager
    # to a type checker; typed code writes `with tripwire.sandbox():`.
    with tripwire.sandbox():
        conn = await asyncpg.connect(host="db")
        value: object = await conn.fetchval("SELECT 1")
        del value
    tripwire.asyncpg.assert_connect(host="db")
    tripwire.asyncpg.assert_fetchval(query="SELECT 1", args=[])
    with tripwire.in_any_order():
        pass
    refusals: list[tripwire.RefusalError] = tripwire.acknowledge_refusals()
    del refusals


def manual_use() -> None:
    verifier = StrictVerifier()
    apg = AsyncpgPlugin(verifier)
    apg.new_session().expect("connect", returns=None)
    with verifier.sandbox():
        pass
    try:
        verifier.verify_all()
    except UnusedMocksError as error:
        message: str = str(error)
        del message
