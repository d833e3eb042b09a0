"""Contract: type codecs set by the application."""

from __future__ import annotations

import json

import asyncpg
import pytest

import tripwire

from .harness import Contract, Scenario, Seen, cases

pytestmark = [pytest.mark.contract, pytest.mark.postgres]

ROUND_TRIP = "SELECT $1::jsonb"


async def connect_with_json(dsn: str, schema: str = "pg_catalog") -> asyncpg.Connection:
    """Connect with jsonb decoded to Python objects, as most services do."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.set_type_codec(
            "jsonb", schema=schema, encoder=json.dumps, decoder=json.loads, format="text"
        )
    except BaseException:
        await conn.close()
        raise
    return conn


class JsonbAsPythonObjects(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await connect_with_json(dsn)
        await seen.result("round trip", conn.fetchval(ROUND_TRIP, {"tags": ["a", "b"], "n": 1}))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("set_type_codec", returns=None)
            .expect("fetchval", returns={"tags": ["a", "b"], "n": 1})
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_set_type_codec(
            typename="jsonb",
            schema="pg_catalog",
            encoder=json.dumps,
            decoder=json.loads,
            format="text",
        )
        apg.assert_fetchval(query=ROUND_TRIP, args=[{"tags": ["a", "b"], "n": 1}])
        apg.assert_close()


class CodecForATypeNotInTheSchema(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        await seen.result("jsonb in public", connect_with_json(dsn, schema="public"))

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("set_type_codec", raises=ValueError("unknown type: public.jsonb"))
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_set_type_codec(
            typename="jsonb", schema="public", encoder=json.dumps, decoder=json.loads, format="text"
        )
        apg.assert_close()


class CodecOnAClosedConnection(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        await conn.close()
        await seen.result(
            "set_type_codec",
            conn.set_type_codec(
                "jsonb", schema="pg_catalog", encoder=json.dumps, decoder=json.loads
            ),
        )

    def script(self) -> None:
        tripwire.asyncpg.new_session().expect("connect", returns=None).expect("close", returns=None)

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 1


@pytest.mark.parametrize(
    "scenario", cases(JsonbAsPythonObjects, CodecForATypeNotInTheSchema, CodecOnAClosedConnection)
)
async def test_same_outcome(scenario: type[Scenario], contract: Contract) -> None:
    await contract.check(scenario)
