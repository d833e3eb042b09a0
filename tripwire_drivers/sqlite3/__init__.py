"""tripwire's sqlite3 driver: ``tripwire.sqlite3``.

A synchronous driver for the standard library's ``sqlite3`` module; see
docs/sqlite3.md for the guide.
"""

from .connection import Connection
from .cursor import Cursor
from .plugin import Sqlite3Plugin
from .result import Result

__all__ = ["Connection", "Cursor", "Result", "Sqlite3Plugin"]
