"""Test the user store with tripwire's sqlite3 driver."""

import sqlite3

import pytest

import tripwire

from .app import add_user, find_user


def test_add_user_commits_and_returns_the_id():
    (
        tripwire.sqlite3.new_session()
        .expect("connect", returns=None)
        .expect("execute", returns=tripwire.sqlite3.Result(rowcount=1, lastrowid=7))
        .expect("commit", returns=None)
        .expect("close", returns=None)
    )

    with tripwire:
        assert add_user("app.db", "Alice") == 7

    tripwire.sqlite3.assert_connect(database="app.db")
    tripwire.sqlite3.assert_execute(sql="INSERT INTO users (name) VALUES (?)", parameters=["Alice"])
    tripwire.sqlite3.assert_commit()
    tripwire.sqlite3.assert_close()


def test_a_failed_insert_is_rolled_back_and_the_connection_closed():
    duplicate = sqlite3.IntegrityError("UNIQUE constraint failed: users.name")
    (
        tripwire.sqlite3.new_session()
        .expect("connect", returns=None)
        .expect("execute", raises=duplicate)
        .expect("rollback", returns=None)
        .expect("close", returns=None)
    )

    with tripwire, pytest.raises(sqlite3.IntegrityError):
        add_user("app.db", "Alice")

    tripwire.sqlite3.assert_connect(database="app.db")
    tripwire.sqlite3.assert_execute(sql="INSERT INTO users (name) VALUES (?)", parameters=["Alice"])
    tripwire.sqlite3.assert_rollback()
    tripwire.sqlite3.assert_close()


@pytest.mark.parametrize(("rows", "name"), [([("Alice",)], "Alice"), ([], None)])
def test_find_user(rows, name):
    (
        tripwire.sqlite3.new_session()
        .expect("connect", returns=None)
        .expect("execute", returns=rows)
        .expect("close", returns=None)
    )

    with tripwire:
        assert find_user("app.db", 1) == name

    tripwire.sqlite3.assert_connect(database="app.db")
    tripwire.sqlite3.assert_execute(sql="SELECT name FROM users WHERE id = ?", parameters=[1])
    tripwire.sqlite3.assert_close()
