"""Store and look up users in a SQLite database with the standard sqlite3 module."""

import sqlite3

__all__ = ["add_user", "find_user"]


def add_user(path: str, name: str) -> int | None:
    """Insert a user and commit; return the new row's id."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            cursor = conn.execute("INSERT INTO users (name) VALUES (?)", (name,))
        return cursor.lastrowid
    finally:
        conn.close()


def find_user(path: str, user_id: int) -> str | None:
    """Return the name of the user with this id, or None if there is none."""
    conn = sqlite3.connect(path)
    try:
        row = conn.execute("SELECT name FROM users WHERE id = ?", (user_id,)).fetchone()
    finally:
        conn.close()
    return None if row is None else row[0]
