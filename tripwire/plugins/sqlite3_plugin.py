"""``from tripwire.plugins.sqlite3_plugin import Sqlite3Plugin``."""

from tripwire_drivers.sqlite3 import Sqlite3Plugin

__all__ = ["Sqlite3Plugin"]
