"""Contract: LISTEN/NOTIFY through ``add_listener``."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import ANY

import asyncpg
import pytest

import tripwire

from . import apps
from .harness import Contract, Scenario, Seen, cases

pytestmark = [pytest.mark.contract, pytest.mark.postgres]

NOTIFY = "SELECT pg_notify($1, $2)"


class NotifiesItself(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        inbox = apps.Inbox()
        await seen.result("listen", conn.add_listener("orders", inbox))
        await seen.result("notify", conn.execute("NOTIFY orders, 'created 7'"))
        await seen.result("received", inbox.wait(1))
        await seen.result("unlisten", conn.remove_listener("orders", inbox))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("add_listener", returns=None)
            .expect("execute", returns="NOTIFY")
            .notify("orders", "created 7")
            .expect("remove_listener", returns=None)
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_add_listener(channel="orders", callback=ANY)
        apg.assert_execute(query="NOTIFY orders, 'created 7'", args=[])
        apg.assert_remove_listener(channel="orders", callback=ANY)
        apg.assert_close()


class NotifiedByAnotherClient(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        listener = await asyncpg.connect(dsn)
        sender = await asyncpg.connect(dsn)
        inbox = apps.Inbox()
        await listener.add_listener("orders", inbox)
        await seen.result("send", sender.fetchval(NOTIFY, "orders", "42"))
        await seen.result("send an empty payload", sender.fetchval(NOTIFY, "orders", ""))
        await seen.result("received", inbox.wait(2))
        await sender.close()
        await listener.close()

    def script(self) -> None:
        apg = tripwire.asyncpg
        listener = apg.new_session().expect("connect", returns=None)
        sender = apg.new_session().expect("connect", returns=None)
        listener.expect("add_listener", returns=None)
        sender.expect("fetchval", returns=None).expect("fetchval", returns=None)
        sender.expect("close", returns=None)
        listener.notify("orders", "42", pid=1).notify("orders", "", pid=1)
        listener.expect("close", returns=None)

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_connect(dsn=dsn)
        apg.assert_add_listener(channel="orders", callback=ANY)
        apg.assert_fetchval(query=NOTIFY, args=["orders", "42"])
        apg.assert_fetchval(query=NOTIFY, args=["orders", ""])
        apg.assert_close()
        apg.assert_close()


class RemovedListenerHearsNothing(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        heard: list[str] = []
        done = asyncio.Event()

        async def on_audit(conn: Any, pid: int, channel: str, payload: str) -> None:
            heard.append(f"audit: {payload}")

        def on_done(conn: Any, pid: int, channel: str, payload: str) -> None:
            done.set()

        await conn.add_listener("audit", on_audit)
        await conn.add_listener("done", on_done)
        await conn.execute("NOTIFY audit, 'first'")
        await seen.result("remove", conn.remove_listener("audit", on_audit))
        await seen.result("remove it again", conn.remove_listener("audit", on_audit))
        await conn.execute("NOTIFY audit, 'second'; NOTIFY done")
        await asyncio.wait_for(done.wait(), timeout=2)
        await asyncio.sleep(0)  # let a pending async callback run
        seen.value("heard", heard)
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("add_listener", returns=None)
            .expect("add_listener", returns=None)
            .expect("execute", returns="NOTIFY")
            .notify("audit", "first")
            .expect("remove_listener", returns=None)
            .expect("remove_listener", returns=None)
            .expect("execute", returns="NOTIFY")
            .notify("done")
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_add_listener(channel="audit", callback=ANY)
        apg.assert_add_listener(channel="done", callback=ANY)
        apg.assert_execute(query="NOTIFY audit, 'first'", args=[])
        apg.assert_remove_listener(channel="audit", callback=ANY)
        apg.assert_remove_listener(channel="audit", callback=ANY)
        apg.assert_execute(query="NOTIFY audit, 'second'; NOTIFY done", args=[])
        apg.assert_close()


class NotifyIsDeliveredOnCommitOnly(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        inbox = apps.Inbox()
        await conn.add_listener("orders", inbox)

        async def notify_then(fail: bool, payload: str) -> None:
            async with conn.transaction():
                await conn.fetchval(NOTIFY, "orders", payload)
                if fail:
                    raise LookupError("order vanished")

        await seen.result("rolled back", notify_then(True, "lost"))
        await seen.result("committed", notify_then(False, "kept"))
        await seen.result("received", inbox.wait(1))
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("add_listener", returns=None)
            .expect("begin", returns=None)
            .expect("fetchval", returns=None)
            .expect("rollback", returns=None)
            .expect("begin", returns=None)
            .expect("fetchval", returns=None)
            .expect("commit", returns=None)
            .notify("orders", "kept")
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        apg = tripwire.asyncpg
        apg.assert_connect(dsn=dsn)
        apg.assert_add_listener(channel="orders", callback=ANY)
        for payload, ending in (("lost", apg.assert_rollback), ("kept", apg.assert_commit)):
            apg.assert_begin()
            apg.assert_fetchval(query=NOTIFY, args=["orders", payload])
            ending()
        apg.assert_close()


class ListenerMisuse(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        inbox = apps.Inbox()
        await seen.result("a callback that is not callable", conn.add_listener("orders", 5))
        await conn.close()
        await seen.result("listen on a closed connection", conn.add_listener("orders", inbox))
        await seen.result("unlisten on a closed connection", conn.remove_listener("orders", inbox))

    def script(self) -> None:
        tripwire.asyncpg.new_session().expect("connect", returns=None).expect("close", returns=None)

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_close()
        assert len(tripwire.acknowledge_refusals()) == 2


class TerminationListenerHearsTheClose(Scenario):
    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        closed = asyncio.Event()
        calls: list[bool] = []

        def on_close(which: Any) -> None:
            calls.append(which is conn)
            closed.set()

        seen.call("register", conn.add_termination_listener, on_close)
        await conn.close()
        await asyncio.wait_for(closed.wait(), timeout=2)
        seen.value("called with the connection", calls)

    def script(self) -> None:
        tripwire.asyncpg.new_session().expect("connect", returns=None).expect("close", returns=None)

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_close()


class ServerNoticesReachTheLogListener(Scenario):
    """A migration runner that logs the NOTICEs the server sends."""

    raise_notice = "DO $$ BEGIN RAISE NOTICE 'low stock: %', 3; END $$"

    async def run(self, dsn: str, seen: Seen) -> None:
        conn = await asyncpg.connect(dsn)
        logged: list[tuple[str, str, str]] = []
        arrived = asyncio.Event()

        def on_message(which: Any, message: Any) -> None:
            logged.append((type(message).__name__, message.severity, message.message))
            arrived.set()

        seen.call("register", conn.add_log_listener, on_message)
        await seen.result("run the migration", conn.execute(self.raise_notice))
        await asyncio.wait_for(arrived.wait(), timeout=2)
        seen.value("logged", logged)
        await conn.close()

    def script(self) -> None:
        (
            tripwire.asyncpg.new_session()
            .expect("connect", returns=None)
            .expect("execute", returns="DO")
            .log("NOTICE", "low stock: 3")
            .expect("close", returns=None)
        )

    def verify(self, dsn: str) -> None:
        tripwire.asyncpg.assert_connect(dsn=dsn)
        tripwire.asyncpg.assert_execute(query=self.raise_notice, args=[])
        tripwire.asyncpg.assert_close()


@pytest.mark.parametrize(
    "scenario",
    cases(
        NotifiesItself,
        NotifiedByAnotherClient,
        RemovedListenerHearsNothing,
        NotifyIsDeliveredOnCommitOnly,
        ListenerMisuse,
        TerminationListenerHearsTheClose,
        ServerNoticesReachTheLogListener,
    ),
)
async def test_same_outcome(scenario: type[Scenario], contract: Contract) -> None:
    await contract.check(scenario)
