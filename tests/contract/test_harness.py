"""The harness's comparison: what it tells apart and what it lets differ."""

from __future__ import annotations

import uuid
from decimal import Decimal

import asyncpg
import asyncpg.pgproto.pgproto
import pytest

from tripwire_core import ClientCheckError, NotSupportedError, blend_refusal
from tripwire_drivers.asyncpg import Record, record
from tripwire_drivers.asyncpg.records import as_record_class

from .apps import UserRecord
from .harness import Raised, Row, observe

pytestmark = pytest.mark.contract

ID = "11111111-2222-3333-4444-555555555555"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (1, True),
        (1, 1.0),
        (Decimal("1"), 1),
        ("1", b"1"),
        ([1], (1,)),
        (None, 0),
    ],
    ids=repr,
)
def test_equal_values_of_other_types_differ(one: object, other: object) -> None:
    assert observe(one) != observe(other)
    assert observe(one) == observe(one)


def test_asyncpgs_uuid_counts_as_uuid() -> None:
    assert observe(asyncpg.pgproto.pgproto.UUID(ID)) == observe(uuid.UUID(ID))
    assert observe(asyncpg.pgproto.pgproto.UUID(ID)) != observe(uuid.UUID(int=0))
    assert observe(asyncpg.pgproto.pgproto.UUID(ID)) != observe(ID)


def test_rows_are_compared_by_names_values_and_class() -> None:
    genuine = record(id=1, name="alice")
    assert observe(Record({"id": 1, "name": "alice"})) == observe(genuine)
    assert observe(Record({"id": 1, "name": "alice"})) == Row(
        (("id", observe(1)), ("name", observe("alice"))), "Record"
    )
    assert observe(Record({"user_id": 1, "name": "alice"})) != observe(genuine)
    assert observe(Record({"id": 1.0, "name": "alice"})) != observe(genuine)
    assert observe(as_record_class(genuine, UserRecord)).kind == "UserRecord"


def test_an_exception_is_its_catchable_class_and_message() -> None:
    refusal = blend_refusal(ClientCheckError, asyncpg.InterfaceError)("connection is closed")
    assert observe(refusal) == observe(asyncpg.InterfaceError("connection is closed"))
    assert observe(refusal) == Raised(asyncpg.InterfaceError, "connection is closed")
    assert observe(NotSupportedError("no")).type is NotImplementedError


def test_object_ids_in_messages_do_not_count() -> None:
    one = ValueError("<PoolConnectionProxy 0x7f3a2c1d5e80> is not a member of this pool")
    other = ValueError("<PoolConnectionProxy 0x10ab> is not a member of this pool")
    assert observe(one) == observe(other)
    # Only the ids are let go: the rest of the message still counts.
    assert observe(one) != observe(ValueError("<PoolConnectionProxy 0x10ab> is not in this pool"))
